import type { StatusCheck } from '../types.js';
import { safe } from './helpers.js';
import { policyStatus } from '../../policy/rotate.js';
import { verifyAnchored } from '../../audit/anchor.js';
import type { Context } from '../../context.js';

/** The first production (by config kind) whose policy pin the store's policy in force does not carry. */
async function productionPinMismatch(ctx: Context, inForce: { hash: string; policy: { version: number } }): Promise<string | null> {
  const { connectionUrl } = await import('../../config/connection.js');
  const { readProductionPin } = await import('../../policy/production-pin.js');
  const { pinMismatch } = await import('../../backup/destination-policy.js');
  for (const [name, e] of Object.entries(ctx.loaded.config.environments)) {
    if (e.kind !== 'production') continue;
    let url: string;
    let pin: { version: number; hash: string } | null;
    try {
      url = connectionUrl(ctx.loaded, name);
      pin = await readProductionPin(url);
    } catch {
      continue; // unreachable production: other checks report it; a backup would fail to connect
    }
    if (!pin) continue;
    const m = await pinMismatch(ctx, url, pin, inForce);
    if (m) return `${name}: ${m}`;
  }
  return null;
}

/** Scorecard checks of the trust anchors: the policy in force and the anchored audit log. */
export const checks: StatusCheck[] = [
  {
    rule: 4,
    id: 'policy.in-force',
    title: 'a signed team policy is in force',
    run: safe(async (ctx) => {
      const s = await policyStatus(ctx);
      if (!s.inForce) return { state: /broken|rolled back/.test(s.problem ?? '') ? 'failing' : 'missing', reason: s.problem ?? 'no policy in force' };
      const p = s.inForce;
      return {
        state: 'ok',
        reason: `version ${p.version} (${p.hash.slice(0, 12)}): ${p.approvalsRequired} approvals, ${p.threshold} signatures to change it; working tree: ${s.workingTree}`,
      };
    }),
  },
  {
    rule: 4,
    id: 'policy.backup-destinations',
    title: "production's backup destinations and recipients are signed",
    run: safe(async (ctx) => {
      const { readPolicyChain } = await import('../../policy/chain.js');
      const { backupTermsDifference, backupTermsFromConfig } = await import('../../policy/backup-terms.js');
      const chain = await readPolicyChain(ctx);
      if (!chain.ok) return { state: 'failing', reason: `no policy in force (${chain.problem}): backups of production are refused` };
      const actual = backupTermsFromConfig(ctx.loaded.config, ctx.loaded.root);
      const what = `${actual.destinations.length} destination(s), ${actual.encrypted ? `${actual.recipients.length} recipient(s)` : 'unencrypted'}`;
      if (!chain.inForce) return { state: 'missing', reason: `unsigned: ${what} from prodguard.yaml alone, no policy in force signs them (prodguard policy init pins them)` };
      const p = chain.inForce.policy;
      const diff = backupTermsDifference(p.backup, actual);
      if (diff) return { state: 'failing', reason: `prodguard.yaml differs from policy version ${p.version}: ${diff}; backups of production are refused until seniors sign it (prodguard policy propose, policy sign)` };
      // The store's policy signs these terms, but is it production's? (red team w5c-086: a
      // self-signed store or another database named as the store showed green here.)
      const mismatch = await productionPinMismatch(ctx, chain.inForce);
      if (mismatch) return { state: 'failing', reason: `${mismatch}; backups of production are refused` };
      return { state: 'ok', reason: `${what}, signed by policy version ${p.version}` };
    }),
  },
  {
    rule: 4,
    id: 'audit.anchored',
    title: 'the audit log agrees with its anchors off this machine',
    run: safe(async (ctx) => {
      const r = await verifyAnchored(ctx);
      if (r.problems.length) return { state: 'failing', reason: `${r.problems.length} problem(s), first: ${r.problems[0].problem}` };
      if (r.anchored === 0 && r.checkpoints === 0) return { state: 'missing', reason: `no anchors: use state.store: postgres and/or prodguard audit checkpoint${r.notes.length ? ` (${r.notes.join('; ')})` : ''}` };
      return { state: 'ok', reason: `${r.anchored} record(s) in the team store, ${r.checkpoints} signed checkpoint(s) agree` };
    }),
  },
];
