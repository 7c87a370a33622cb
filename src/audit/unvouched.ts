/**
 * Rows of OTHER machines in the team store's audit_log (red team ap-050). The prodguard role may
 * INSERT there, so anyone with the team store's credentials can add a self-consistent record under
 * a made-up origin ("ci-runner-7f3a", alice, break-glass.open) that reads like a real runner's.
 * `audit verify` checks its own origin against the store; this lists every other origin and says,
 * per origin, which rows a signed checkpoint (policy.checkpointKey, on the backup destinations)
 * vouches for. The rest are claims, not evidence: listed as unsigned, with their first record.
 *
 * Unsigned rows are not an alarm by themselves — developers' laptops write to the team store and
 * never hold the checkpoint key — so they are reported apart from tampering. What is an alarm: a
 * row that differs from a signed checkpoint of its origin. An origin whose rows do not start at
 * record 1 or have gaps belongs to no whole chain and is said so.
 */
import type { Context } from '../context.js';
import { errorMessage } from '../errors.js';
import { checkpointPrefix, checkpointValid, type AnchorProblem, type Checkpoint } from './anchor.js';
import type { AuditRecord } from './log.js';

export interface UnvouchedOrigin {
  origin: string;
  rows: number;
  /** Rows a valid signed checkpoint covers (seq ≤ its seq). */
  vouched: number;
  /** e.g. "seq 1–3" */
  unsigned: string;
  /** Why they are not a chain, when they are not. */
  noChain?: string;
  first: string;
}

function describe(r: AuditRecord | undefined): string {
  if (!r) return '?';
  return `${r.time ?? '?'} ${r.actor ?? '?'} ${r.action ?? '?'} ${r.verdict ?? '?'}${r.reason ? `: ${String(r.reason).slice(0, 60)}` : ''}`;
}

/** Other origins' rows that no signed checkpoint vouches for, and rows that contradict one. */
export async function checkOtherOrigins(ctx: Context, ownOrigin: string, key: string | null): Promise<{ unvouched: UnvouchedOrigin[]; problems: AnchorProblem[]; notes: string[] }> {
  const store = await ctx.store();
  const unvouched: UnvouchedOrigin[] = [];
  const problems: AnchorProblem[] = [];
  const notes: string[] = [];
  if (!store.auditOrigins || !store.readAuditRow) return { unvouched, problems, notes };
  // `<origin>#<hash>` rows are a restarted log's records, displaced from `<origin>` (ap-051): this
  // machine's own are checked by verifyAnchored; another machine's are listed once per machine.
  const all = (await store.auditOrigins()).filter((o) => o.origin !== ownOrigin && !o.origin.startsWith(`${ownOrigin}#`));
  const origins = all.filter((o) => !o.origin.includes('#'));
  const displaced = new Map<string, { rows: number; first: unknown }>();
  for (const o of all.filter((x) => x.origin.includes('#'))) {
    const base = o.origin.split('#')[0];
    const d = displaced.get(base) ?? { rows: 0, first: o.firstRecord };
    d.rows += o.rows;
    displaced.set(base, d);
  }
  for (const [base, d] of displaced) {
    unvouched.push({ origin: `${base}#…`, rows: d.rows, vouched: 0, unsigned: `${d.rows} displaced record(s)`, noChain: `records of ${base} written after its log was restarted or rewritten`, first: describe(d.first as AuditRecord) });
  }
  if (!origins.length) return { unvouched, problems, notes };
  const { openDestinations, closeDestinations } = await import('../backup/destinations/index.js');
  let dests: ReturnType<typeof openDestinations> = [];
  if (ctx.loaded.config.backup.destinations.length) {
    try {
      dests = openDestinations(ctx.loaded);
    } catch (err) {
      notes.push(`cannot open the backup destinations to read other origins' checkpoints: ${errorMessage(err)}`);
    }
  }
  try {
    for (const o of origins) {
      // The newest checkpoint of this origin signed by the policy's checkpoint key, on any destination.
      let best: Checkpoint | null = null;
      for (const d of dests) {
        let listed: Array<{ key: string }> = [];
        try {
          listed = await d.list(checkpointPrefix(o.origin));
        } catch {
          continue;
        }
        for (const obj of listed) {
          try {
            const c = JSON.parse((await d.getBytes(obj.key))!.toString('utf8')) as Checkpoint;
            if (c.origin === o.origin && checkpointValid(c, key) && (!best || c.seq > best.seq)) best = c;
          } catch {
            // not a checkpoint: anchor.ts reports those for its own origin
          }
        }
      }
      let vouchedUpTo = 0;
      if (best) {
        const row = await store.readAuditRow(o.origin, best.seq);
        if (!row || row.hash !== best.hash) {
          problems.push({ source: 'checkpoint', seq: best.seq, problem: `origin ${o.origin}: the signed checkpoint (${best.time}) vouches for record ${best.seq} as ${best.hash.slice(0, 12)}, but the team store ${row ? `holds ${row.hash.slice(0, 12)}` : 'lacks it'}` });
        } else vouchedUpTo = best.seq;
      }
      const noChain = o.firstSeq !== 1 ? `its rows start at record ${o.firstSeq}, not 1` : o.rows !== o.lastSeq - o.firstSeq + 1 ? `its rows have gaps (${o.rows} rows for seq ${o.firstSeq}–${o.lastSeq})` : undefined;
      const vouched = Math.max(0, Math.min(o.lastSeq, vouchedUpTo) - o.firstSeq + 1);
      if (o.lastSeq > vouchedUpTo || noChain) {
        const from = Math.max(o.firstSeq, vouchedUpTo + 1);
        unvouched.push({ origin: o.origin, rows: o.rows, vouched, unsigned: from === o.lastSeq ? `seq ${from}` : `seq ${from}–${o.lastSeq}`, ...(noChain ? { noChain } : {}), first: describe(o.firstRecord as AuditRecord) });
      }
    }
  } finally {
    await closeDestinations(dests);
  }
  return { unvouched, problems, notes };
}

/** One line per origin, for `audit verify`. */
export function unvouchedLine(u: UnvouchedOrigin): string {
  return `unsigned: origin ${u.origin}: ${u.unsigned} of ${u.rows} row(s) in the team store are vouched for by no signed checkpoint${u.noChain ? ` and belong to no whole chain (${u.noChain})` : ''}; first: ${u.first}`;
}
