/**
 * Demo chapter: a migration goes local → staging → two signed approvals → CI → verified. It is
 * linted, applied to staging (recorded as passed), opened for approval by alice; alice's attempt
 * to approve her own change is rejected; bob and carol (seniors, keys generated here) approve; a
 * deploy from a laptop is refused; the deploy from a simulated CI run takes and verifies its
 * pre-migration backup, applies the migration and verifies production equals staging.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoChapter, DemoContext } from '../types.js';
import { errorMessage } from '../../errors.js';
import { migrationLayout } from '../../migrate/files.js';
import { githubDeployClaims, startLocalIssuer } from '../../policy/local-issuer.js';
import { enrollEnvironment } from '../../policy/environment-identity.js';
import { initPolicy } from '../../policy/rotate.js';
import { withClient } from '../../pg/client.js';
import { connectionUrl } from '../../config/connection.js';

const MIGRATION = '20260301000000_orders_note.sql';
const REPOSITORY = 'qwikker/app';
const MIGRATION_SQL = `-- orders: a free-text note for the courier
alter table orders add column if not exists courier_note text;
`;

async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

export const migrateChapter: DemoChapter = {
  id: 'migrate',
  title: 'A migration from laptop to production: lint, staging first, two signed approvals, an OIDC-verified CI deploy, verified',
  async run(demo: DemoContext) {
    const m = await import('../../migrate/index.js');

    // The backup chapter normally configured destinations; alone, this chapter keeps backups on local disk.
    if (demo.ctx.loaded.config.backup.destinations.length === 0) {
      await demo.updateConfig((raw) => {
        raw.backup = { ...(raw.backup ?? {}), encryption: { noEncrypt: true }, destinations: [{ name: 'local-disk', type: 'local', path: join(demo.projectDir, '.prodguard/backups') }] };
      });
    }

    const dir = migrationLayout(demo.ctx.loaded).dir;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, MIGRATION), MIGRATION_SQL);
    demo.say(`alice writes ${MIGRATION}:\n  ${MIGRATION_SQL.trim().split('\n').join('\n  ')}`);

    demo.showCommand('prodguard migrate plan --env production');
    const plan = await m.planChange(demo.ctx, 'production');
    demo.say(`  change ${plan.state.change.hash.slice(0, 12)}: ${plan.state.pending.map((f) => f.file).join(', ')} — risk ${plan.lint.risk}, ${plan.lint.errors.length} lint error(s), ${plan.lint.suppressed.length} suppressed`);
    if (plan.lint.errors.length) throw new Error(`the demo migration should lint clean: ${plan.lint.errors.map((e) => e.ruleId).join(', ')}`);

    demo.showCommand('prodguard migrate apply --env staging');
    const staged = await m.applyToStaging(demo.ctx, 'staging');
    demo.say(`  applied to staging: ${staged.applied.map((a) => a.file).join(', ')}; recorded as passed (staging schema ${staged.schemaFingerprint?.slice(0, 12)})`);

    const issuer = await startLocalIssuer(githubDeployClaims(REPOSITORY));
    try {
      demo.showCommand('prodguard keys generate --name bob   # and alice, carol: each on their own machine');
      const keysDir = demo.keysDir ?? join(demo.projectDir, '.prodguard/keys');
      const keys = Object.fromEntries(['alice', 'bob', 'carol', 'ci-checkpoint'].map((n) => [n, m.generateKeys({ name: n, outDir: keysDir })]));
      if (demo.state) demo.state.checkpointKeyFile = keys['ci-checkpoint'].privateKeyFile;
      await demo.updateConfig((raw) => {
        const team = (raw.team ?? []) as Array<Record<string, unknown>>;
        if (!team.some((t) => t.name === 'carol')) team.push({ name: 'carol', email: 'carol@qwikker.example', role: 'senior', publicKey: null });
        for (const t of team) if (keys[t.name as string]) t.publicKey = keys[t.name as string].publicKey;
        raw.team = team;
      });
      demo.say(`  private keys stay in 0600 files in ${keysDir.startsWith(demo.projectDir) ? keysDir.slice(demo.projectDir.length + 1) : '~/.config/prodguard/keys'}; the public keys go into prodguard.yaml (team[].publicKey) for alice, bob and carol (seniors),`);
      demo.say('  and the CI/serve identity\'s key that will sign audit checkpoints (policy.checkpointKey).');
      // The CI platform is simulated by a loopback OIDC issuer; the pinned policy names it and the
      // claims the deploy job's token must carry (a real team pins token.actions.githubusercontent.com).
      await demo.updateConfig((raw) => {
        raw.policy = { ...(raw.policy ?? {}), checkpointKey: keys['ci-checkpoint'].publicKey, oidc: { provider: 'github', issuer: issuer.issuer, audience: 'prodguard', repository: REPOSITORY, ref: 'refs/heads/main', environment: 'production' } };
      });
      for (const env of ['staging', 'production']) {
        demo.showCommand(`prodguard env enroll --env ${env}`);
        const e = await enrollEnvironment(demo.ctx, env);
        demo.say(`  ${env}: identity ${e.identity.envId.slice(0, 8)}… written into its database (prodguard.environment_identity); server ${e.identity.systemIdentifier}, database ${e.identity.database}`);
      }
      await demo.updateConfig(() => {}); // enrol wrote prodguard.yaml
      demo.showCommand('prodguard policy init --key ~/.config/prodguard/keys/alice.ed25519.key   # pins the team policy; later changes need two seniors\' signatures');
      const pinned = await initPolicy(demo.ctx, { keyFile: keys.alice.privateKeyFile });
      demo.say(`  policy version 1 in force (${pinned.hash.slice(0, 12)}); editing prodguard.yaml now only proposes a change`);

      const change = await withEnv({ PRODGUARD_ACTOR: 'alice' }, async () => {
        demo.showCommand('prodguard migrate request --env production --key ~/.config/prodguard/keys/alice.ed25519.key   # alice signs her request');
        const r = await m.requestChange(demo.ctx, 'production', { keyFile: keys.alice.privateKeyFile });
        demo.say(`  change ${r.change.hash.slice(0, 12)} opened for approval; author ${r.change.author}`);
        demo.showCommand(`prodguard migrate approve ${r.change.hash.slice(0, 12)} --key ~/.config/prodguard/keys/alice.ed25519.key   # alice approves her own change`);
        try {
          await m.approveChange(demo.ctx, r.change.hash, { keyFile: keys.alice.privateKeyFile });
          throw new Error('self-approval was accepted');
        } catch (err) {
          if (errorMessage(err) === 'self-approval was accepted') throw err;
          demo.say(`  refused: ${errorMessage(err)}`);
        }
        // The same branch edits prodguard.yaml: a second "senior" whose key alice also holds.
        // The working tree only proposes a policy; approvals count against the policy in force.
        const sock = m.generateKeys({ name: 'alice-laptop', outDir: keysDir });
        await demo.updateConfig((raw) => {
          (raw.team as Array<Record<string, unknown>>).push({ name: 'alice-laptop', email: 'alice+laptop@qwikker.example', role: 'senior', publicKey: sock.publicKey });
        });
        demo.showCommand('git diff prodguard.yaml   # in the same branch, alice adds a senior "alice-laptop" whose key she holds');
        demo.say('  + - name: alice-laptop\n  +   role: senior\n  +   publicKey: ed25519:…');
        demo.showCommand(`prodguard migrate approve ${r.change.hash.slice(0, 12)} --key ~/.config/prodguard/keys/alice-laptop.ed25519.key`);
        try {
          await m.approveChange(demo.ctx, r.change.hash, { keyFile: sock.privateKeyFile });
          throw new Error('an approval by a senior added in the same branch was accepted');
        } catch (err) {
          if ((err as Error).message === 'an approval by a senior added in the same branch was accepted') throw err;
          demo.say(`  refused: ${(err as Error).message}`);
        } finally {
          await demo.updateConfig((raw) => {
            raw.team = (raw.team as Array<Record<string, unknown>>).filter((x) => x.name !== 'alice-laptop');
          });
          demo.say('  (the edit is reverted: a new senior needs a policy change signed by two seniors in force — see chapter "emergency")');
        }
        return r.change;
      });
      for (const who of ['bob', 'carol']) {
        demo.showCommand(`prodguard migrate approve ${change.hash.slice(0, 12)} --key ~/.config/prodguard/keys/${who}.ed25519.key   # ${who}`);
        const a = await m.approveChange(demo.ctx, change.hash, { keyFile: keys[who].privateKeyFile });
        demo.say(`  ${who} signed: ${a.file.slice(demo.projectDir.length + 1)}`);
      }

      demo.showCommand('prodguard migrate deploy --env production   # from alice\'s laptop');
      await withEnv({ CI: undefined, PRODGUARD_ACTOR: 'alice' }, async () => {
        try {
          await m.deploy(demo.ctx, 'production');
          throw new Error('a deploy from a laptop was accepted');
        } catch (err) {
          if (errorMessage(err) === 'a deploy from a laptop was accepted') throw err;
          demo.say(`  refused: ${errorMessage(err)}`);
        }
      });

      const identity = demo.ctx.loaded.config.migrations.deployIdentity;
      demo.showCommand('prodguard migrate deploy --env production   # the CI job, with the platform\'s OIDC token (id-token: write)');
      const r = await withEnv({ CI: 'true', PRODGUARD_ACTOR: identity, ...issuer.githubEnv() }, () => m.deploy(demo.ctx, 'production', { onPhase: (p) => demo.say(`  … ${p}`) }));
      demo.say(`  deployed ${r.applied.map((a) => a.file).join(', ')}; pre-migration backup ${r.backupId} (verified by restore); approved by ${r.gate?.approvals.validApprovers.join(' and ')}`);
      if (!r.verification?.ok) throw new Error(`post-deploy verification failed:\n  ${r.verification?.lines.join('\n  ')}`);
      demo.say(`  verified: production's schema equals staging's (${r.verification.productionFingerprint.slice(0, 12)}); ${r.verification.health.length} health check(s) passed`);

      demo.showCommand('prodguard migrate ci --github');
      const wf = m.writeGithubWorkflow(demo.ctx.loaded, { force: true, staging: 'staging', production: 'production' });
      demo.say(`  wrote ${wf.slice(demo.projectDir.length + 1)}: lint + plan (SARIF) on pull requests, staging on merge, production deploy job (environment: production)`);

      demo.showCommand('prodguard staging refresh --yes');
      const refreshed = await m.refreshStaging(demo.ctx, { yes: true });
      demo.say(`  staging replaced from production backup ${refreshed.backupId}; ${refreshed.maskedColumns} column rule(s) masked (${refreshed.maskedRows} values)`);
      // That backup is the deploy's pre-migration one: staging is now one migration behind
      // production, and `status` would say so. Staging first, again.
      const behind = await m.applyToStaging(demo.ctx, 'staging');
      if (behind.applied.length) {
        demo.showCommand('prodguard migrate apply --env staging   # the backup predates the deploy: staging catches up');
        demo.say(`  applied to staging: ${behind.applied.map((a) => a.file).join(', ')}; staging's history equals production's again`);
      }
      // The new free-text column may hold personal data: the coverage check finds it, and the
      // next refresh would refuse until a rule covers it. alice adds one.
      const { stagingCoverage } = await import('../../migrate/staging-coverage.js');
      const cov = await stagingCoverage(demo.ctx, 'staging');
      if (cov.uncovered.length) {
        demo.showCommand('prodguard staging plan');
        for (const u of cov.uncovered) demo.say(`  MISSING ${u.schema}.${u.table}.${u.column} (${u.type}): ${u.reasons.join('; ')}`);
        await demo.updateConfig((raw) => {
          raw.staging = raw.staging ?? {};
          raw.staging.masking = [...(raw.staging.masking ?? []), ...cov.uncovered.map((u) => ({ table: `${u.schema}.${u.table}`, column: u.column, strategy: 'scrub' }))];
        });
        demo.say(`  alice adds a scrub rule for ${cov.uncovered.map((u) => `${u.table}.${u.column}`).join(', ')} to staging.masking (a refresh refuses while a column is uncovered); scrub masks only part of a value, so the next refresh also wants it signed: it goes into the seniors' next policy change`);
      }
      const first = (url: string) => withClient(url, async (c) => (await c.query('SELECT email FROM customers ORDER BY id LIMIT 1')).rows[0]?.email as string | undefined);
      const [prodEmail, stagingEmail] = await Promise.all([first(connectionUrl(demo.ctx.loaded, 'production')), first(connectionUrl(demo.ctx.loaded, 'staging'))]);
      if (prodEmail && stagingEmail) {
        if (demo.ctx.loaded.config.staging.masking.some((x) => x.column === 'email') && prodEmail === stagingEmail) throw new Error('staging refresh left a customer email unmasked');
        demo.say(`  customer #1: production ${prodEmail.replace(/^(.).*@/, '$1…@')} → staging ${stagingEmail}`);
      }
    } finally {
      await issuer.close();
    }
  },
};
