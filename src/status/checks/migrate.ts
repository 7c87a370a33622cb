import { humanDuration } from '../units.js';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import type { StatusCheck, CheckResult } from '../types.js';
import type { Context } from '../../context.js';
import { safe } from './helpers.js';
import { errorMessage } from '../../errors.js';
import { durationMs } from '../../config/duration.js';
import { tryConnectionUrl } from '../../config/connection.js';
import { DEPLOYS, STAGING_PASSES, STAGING_REFRESHES } from '../../migrate/records.js';
import { compareStagingSchema, stagingSchemaLine } from '../staging-schema.js';
import { supabaseStagingMirror } from '../../supabase/staging.js';
import { parsePublicKey } from '../../migrate/keys.js';
import { policyInForce } from '../../policy/chain.js';
import { readDeployFacts, type DeployFacts } from '../../migrate/deploy-facts.js';
import type { DeployRecord } from '../../migrate/records.js';
import type { StateStore } from '../../store/store.js';

const envsOf = (ctx: Context, kind: 'staging' | 'production') =>
  Object.entries(ctx.loaded.config.environments).filter(([, e]) => e.kind === kind).map(([n]) => n);

// Human durations everywhere (src/status/units.ts): "12 s", not "0.0 h".
const ago = humanDuration;

/** Scorecard checks contributed by the migrate layer. */
export const checks: StatusCheck[] = [
  {
    rule: 3,
    id: 'migrate.staging',
    title: 'a staging environment exists, migrations pass there first, its data is fresh',
    run: safe(async (ctx) => {
      const staging = envsOf(ctx, 'staging');
      if (staging.length === 0) return { state: 'missing', reason: 'no environment with kind: staging (add one; production changes must pass staging first)' };
      const store = await ctx.store();
      const lines: string[] = [];
      let state: CheckResult['state'] = 'ok';
      const worse = (s: CheckResult['state']) => {
        if (s === 'failing' || (s === 'missing' && state === 'ok')) state = s;
      };
      for (const env of staging) {
        if (!tryConnectionUrl(ctx.loaded, env)) {
          worse('missing');
          lines.push(`${env}: no connection configured`);
          continue;
        }
        const pass = (await store.list<{ at: string; migrations: unknown[] }>(STAGING_PASSES, { where: { environment: env }, limit: 1 }))[0];
        const refresh = (await store.list<{ backupCreatedAt: string }>(STAGING_REFRESHES, { where: { environment: env }, limit: 1 }))[0];
        const parts = [pass ? `last migrations passed ${ago(Date.now() - Date.parse(pass.doc.at))} ago` : 'no migration has passed here yet'];
        if (!pass) worse('missing');
        // A hosted staging project that mirrors production by schema holds none of production's
        // data, so masking coverage does not apply to it (it applies once data is refreshed in).
        let mirrorsBySchema = false;
        // Staging's schema against production's, both read from the databases (src/status/staging-schema.ts).
        let cmp: Awaited<ReturnType<typeof compareStagingSchema>>;
        let cmpError: string | undefined;
        try {
          cmp = await compareStagingSchema(ctx.loaded, env);
        } catch (err) {
          cmpError = (err as Error).message;
        }
        if (refresh) {
          const age = Date.now() - Date.parse(refresh.doc.backupCreatedAt);
          const max = durationMs(ctx.loaded.config.staging.maxDataAge);
          parts.push(`data ${ago(age)} old${age > max ? ` (older than maxDataAge ${ctx.loaded.config.staging.maxDataAge}: prodguard staging refresh --yes)` : ''}`);
          if (age > max) worse('failing');
        } else {
          // Supabase hook (src/supabase/staging.ts): a hosted staging project proves it mirrors production by its schema.
          const mirror = supabaseStagingMirror(ctx.loaded, env, cmp, cmpError);
          if (mirror) {
            mirrorsBySchema = true;
            parts.push(mirror.line);
            if (!mirror.ok) worse('missing');
          } else {
            parts.push('never refreshed from production (prodguard staging refresh --yes)');
            worse('missing');
          }
        }
        if (!mirrorsBySchema) {
          // Exactness (#20): an added column or a dropped index in staging is drift.
          if (cmpError) {
            parts.push(`cannot compare its schema with production's: ${cmpError}`);
            worse('missing');
          } else if (cmp) {
            const v = stagingSchemaLine(cmp);
            parts.push(v.line);
            worse(v.state);
          }
        }
        try {
          const { envState } = await import('../../migrate/change.js');
          const st = await envState(ctx.loaded, env);
          if (st.pending.length) parts.push(`${st.pending.length} migration(s) not yet applied here`);
          if (st.drift.length) {
            parts.push(`history drift: ${st.drift.join('; ')}`);
            worse('failing');
          }
        } catch (err) {
          parts.push(`cannot read its migration history: ${errorMessage(err)}`);
          worse('failing');
        }
        // A restore with --unmasked after the last refresh: staging holds unmasked data, whatever the rules say.
        const { UNMASKED_RESTORES } = await import('../../restore/staging-gate.js');
        const unmasked = (await store.list<{ at: string; backupId: string; database: string; sourceEnvironment: string }>(UNMASKED_RESTORES, { where: { environment: env }, limit: 1 }))[0];
        const refreshedAt = (refresh?.doc as { at?: string } | undefined)?.at;
        if (unmasked && (!refreshedAt || Date.parse(unmasked.doc.at) > Date.parse(refreshedAt))) {
          parts.push(`UNMASKED: ${unmasked.doc.sourceEnvironment}'s backup ${unmasked.doc.backupId} was restored into "${unmasked.doc.database}" with --unmasked ${ago(Date.now() - Date.parse(unmasked.doc.at))} ago; masking does not hold until \`prodguard staging refresh --env ${env} --yes\` (and drop that database if it is not staging's own)`);
          worse('failing');
        } else if (!mirrorsBySchema) {
          try {
            // Masking coverage (issue #20): personal-data columns without a rule make the next refresh refuse.
            const { stagingCoverage } = await import('../../migrate/staging-coverage.js');
            const cov = await stagingCoverage(ctx, env);
            if (!cov.rules) parts.push('masking: staging.masking is empty (a refresh refuses)');
            else parts.push(`masking: ${cov.masked.length} masked, ${cov.kept.length} kept, ${cov.uncovered.length} uncovered of ${cov.detected.length} personal-data column(s)${cov.uncovered.length ? ` (${cov.uncovered.map((u) => `${u.schema}.${u.table}.${u.column}`).join(', ')}: add rules; prodguard staging plan)` : ''}`);
            // Unsigned kept/partial columns are migrate.staging-masking-signed's to report.
            if (!cov.rules || cov.uncovered.length) worse('failing');
          } catch (err) {
            parts.push(`cannot check masking coverage: ${errorMessage(err)}`);
            worse('failing');
          }
        }
        lines.push(`${env}: ${parts.join(', ')}`);
      }
      return { state, reason: lines.join('; ') };
    }),
  },
  {
    rule: 4,
    id: 'migrate.approvers',
    title: 'enough senior approvers with public keys',
    run: safe(async (ctx) => {
      // The policy in force decides who approves; the working tree's team only until one is pinned.
      const { inForce } = await policyInForce(ctx);
      const team = inForce ? inForce.policy.members : ctx.loaded.config.team;
      const approvalsRequired = inForce ? inForce.policy.approvals.required : ctx.loaded.config.migrations.approvals.required;
      const source = inForce ? ` (policy in force, version ${inForce.policy.version})` : " (working tree's team: no policy in force)";
      const required = Math.max(2, approvalsRequired);
      const usable = team.filter((m) => {
        if (m.role !== 'senior' || !m.publicKey) return false;
        try {
          parsePublicKey(m.publicKey);
          return true;
        } catch {
          return false;
        }
      });
      const names = usable.map((m) => m.name).join(', ');
      if (usable.length >= required) return { state: 'ok', reason: `${usable.length} seniors can approve (${names}); ${approvalsRequired} approvals required${source}` };
      return {
        state: usable.length === 0 ? 'missing' : 'failing',
        reason: `${usable.length} senior(s) with a public key${names ? ` (${names})` : ''}; need at least ${required} (prodguard keys generate, then team[].publicKey)${source}`,
      };
    }),
  },
  {
    rule: 5,
    id: 'migrate.ci',
    title: 'production deploys run from CI and were verified',
    run: safe(async (ctx) => {
      const gh = join(ctx.loaded.root, '.github/workflows/prodguard.yml');
      const gl = join(ctx.loaded.root, '.gitlab-ci.yml');
      const hasCi = existsSync(gh) || (existsSync(gl) && readFileSync(gl, 'utf8').includes('prodguard migrate deploy'));
      const lines: string[] = [hasCi ? 'CI workflow present' : 'no CI workflow (prodguard migrate ci --github)'];
      let state: CheckResult['state'] = hasCi ? 'ok' : 'missing';
      const store = await ctx.store();
      const worse = (st: CheckResult['state']) => {
        if (st === 'failing' || (st === 'missing' && state === 'ok')) state = st;
      };
      const details: Record<string, unknown> = {};
      for (const env of envsOf(ctx, 'production')) {
        const judged = await judgeLastDeploy(ctx, env, store);
        worse(judged.state);
        lines.push(`${env}: ${judged.line}`);
        details[env] = judged.details;
      }
      return { state, reason: lines.join('; '), details };
    }),
  },
  {
    rule: 3,
    id: 'migrate.staging-masking-signed',
    title: "what staging.masking leaves unmasked is signed by the policy in force",
    // Config and policy only (no database): a deleted signed rule is reported by the refresh itself.
    run: safe(async (ctx) => {
      const rules = ctx.loaded.config.staging.masking as import('../../migrate/masking.js').MaskRule[];
      if (!envsOf(ctx, 'staging').length || !rules.length) return { state: 'ok', reason: 'no staging environment or no staging.masking rules: nothing to sign (migrate.staging reports it)' };
      const { readPolicyChain } = await import('../../policy/chain.js');
      const { maskingTermsDifference, maskingTermsFromRules, removedMasking, unsignedMasking } = await import('../../policy/masking-terms.js');
      const chain = await readPolicyChain(ctx);
      if (!chain.ok) return { state: 'failing', reason: `no policy in force (${chain.problem}): staging refreshes from production are refused` };
      const p = chain.inForce?.policy;
      const unsigned = unsignedMasking(p?.masking, rules);
      const by = p ? `policy version ${p.version}` : 'no policy in force';
      if (unsigned.length) return { state: 'failing', reason: `kept or partly masked without a signature of ${by}: ${unsigned.join(', ')}; staging refresh refuses until the seniors sign it (prodguard policy propose, policy sign)` };
      if (!p) return { state: 'ok', reason: 'every rule masks whole: nothing needs a signature (no policy in force pins the rules against removal)' };
      const signedCols = new Set([...(p.masking?.masked ?? []), ...(p.masking?.partial ?? []).map((x) => x.split(' ')[0])]);
      const removed = removedMasking(p.masking, rules, signedCols);
      if (removed.length) return { state: 'failing', reason: `signed masking gone from prodguard.yaml: ${removed.join(', ')}; staging refresh refuses while production has the column (restore the rule, or the seniors sign its removal)` };
      const diff = maskingTermsDifference(p.masking, maskingTermsFromRules(rules));
      return { state: 'ok', reason: diff ? `signed by ${by}; prodguard.yaml masks more than it (${diff}): propose it so the policy pins the new rules too` : `exactly the rules ${by} signs` };
    }),
  },
];

const short = (hash: string) => hash.slice(0, 12);

/**
 * Rule 5's verdict on one production's last deploy, from production's own facts (red team ap-054):
 * the team store's `migrate-deploys` document is writable by every developer, so it only names
 * the deploy; production's CI token claim (ci_token_use) confirms a CI deploy of that change, and
 * production's own verification record (deploy_verification) says whether it was verified. When
 * production cannot be read from here the store's record is shown as unconfirmed, never green.
 */
async function judgeLastDeploy(ctx: Context, env: string, store: StateStore): Promise<{ state: CheckResult['state']; line: string; details: Record<string, unknown> }> {
  const last = (await store.list<DeployRecord>(DEPLOYS, { where: { environment: env, outcome: 'deployed' }, limit: 1 }))[0];
  const sv = last?.doc.verified;
  const storeVerdict = sv ? (sv.ok ? 'verified' : 'FAILED verification') : 'never verified';
  const storeSays = last ? `the team store's deploy record ${last.id} (change ${short(last.doc.changeHash)}, ${storeVerdict})` : '';
  const storeDetails = last ? { storeRecord: last.id, changeHash: last.doc.changeHash, storeVerified: sv?.ok ?? null } : { storeRecord: null };
  const url = tryConnectionUrl(ctx.loaded, env);
  let facts: DeployFacts | undefined;
  let unreachable = url ? '' : 'no connection configured here';
  if (url) {
    try {
      facts = await readDeployFacts(url, last?.doc.changeHash ?? '');
    } catch (err) {
      unreachable = errorMessage(err);
    }
  }
  if (!facts) {
    if (!last) return { state: 'ok', line: `no production deploy yet (per the team store; production not readable from here to confirm: ${unreachable})`, details: { ...storeDetails, confirmed: false } };
    return {
      state: 'missing',
      line: `last deploy unconfirmed: cannot read production's own record (${unreachable}); ${storeSays} is not evidence — run prodguard status where production can be read`,
      details: { ...storeDetails, confirmed: false, unreachable },
    };
  }
  const { claim, newestClaim, verification: v } = facts;
  const factDetails = { claim, newestClaim, verification: v };
  if (!last) {
    if (!newestClaim) return { state: 'ok', line: 'no production deploy yet', details: { ...storeDetails, ...factDetails } };
    return {
      state: 'missing',
      line: `production recorded a CI deploy of change ${short(newestClaim.changeHash)} ${ago(Date.now() - Date.parse(newestClaim.usedAt))} ago that the team store has no deploy record of`,
      details: { ...storeDetails, ...factDetails },
    };
  }
  if (!claim) {
    return {
      state: 'failing',
      line: `last deploy unconfirmed: ${storeSays} has no matching CI token claim in production${newestClaim ? ` (production's newest claim is for change ${short(newestClaim.changeHash)}, ${ago(Date.now() - Date.parse(newestClaim.usedAt))} ago)` : ' (production records no CI deploy at all)'}`,
      details: { ...storeDetails, confirmed: false, ...factDetails },
    };
  }
  const run = claim.runId ? `, run ${claim.runId}` : '';
  const base = `last deploy ${short(claim.changeHash)} confirmed by production's CI token claim (${ago(Date.now() - Date.parse(claim.usedAt))} ago${run})`;
  const later = newestClaim && newestClaim.changeHash !== claim.changeHash && Date.parse(newestClaim.usedAt) > Date.parse(claim.usedAt)
    ? `; production's newest CI token claim is for a later change ${short(newestClaim.changeHash)} (${ago(Date.now() - Date.parse(newestClaim.usedAt))} ago), not the team store's last completed deploy`
    : '';
  const details = { ...storeDetails, confirmed: true, ...factDetails };
  if (!v) {
    return { state: 'missing', line: `${base}, but production records no verification since (${storeSays} is not evidence; run prodguard migrate verify --env ${env} with production's deploy credentials)${later}`, details };
  }
  const of = v.changeHash && v.changeHash !== claim.changeHash ? ` of change ${short(v.changeHash)}` : '';
  const when = `production's own record${of}, ${ago(Date.now() - Date.parse(v.verifiedAt))} ago`;
  const contradicts = sv?.ok === true && !v.ok ? `; ${storeSays} contradicts production's record` : '';
  if (!v.ok) return { state: 'failing', line: `${base}, FAILED verification (${when}: ${v.differences} schema difference(s), ${v.healthFailures} health check failure(s))${contradicts}${later}`, details };
  return { state: 'ok', line: `${base}, verified (${when})${later}`, details };
}
