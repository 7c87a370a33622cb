/**
 * Anchors for the local audit log, off the machine that writes it:
 *   - every record is also appended to the team store's append-only table (when the state store
 *     is PostgreSQL), under this log's origin;
 *   - `audit checkpoint` signs the chain head (origin, seq, hash) with the CI/serve identity's
 *     ed25519 key and writes it to every backup destination.
 * `verifyAnchored` compares the local log with both and names every record that is missing or
 * changed, so rewriting the log (and recomputing the chain) or deleting it together with the state
 * database no longer reads as intact or as a fresh install.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Context } from '../context.js';
import { RefusedError, errorMessage } from '../errors.js';
import { canonicalJson } from '../policy/document.js';
import { formatPublicKey, parsePublicKey } from '../migrate/keys.js';
import type { AuditRecord } from './log.js';

/** One machine's log: stable across deleting the log and the state (host + absolute path). */
export function auditOrigin(file: string, host = hostname()): string {
  return createHash('sha256').update(`${host}:${resolve(file)}`).digest('hex').slice(0, 16);
}

export interface Checkpoint {
  origin: string;
  seq: number;
  hash: string;
  time: string;
  publicKey: string;
  signature: string;
}

const message = (c: Pick<Checkpoint, 'origin' | 'seq' | 'hash' | 'time'>) => Buffer.from('prodguard-audit-checkpoint:v1:' + canonicalJson({ origin: c.origin, seq: c.seq, hash: c.hash, time: c.time }));

export const checkpointPrefix = (origin: string) => `audit-checkpoints/${origin}/`;

export function signCheckpoint(origin: string, head: { seq: number; hash: string }, key: KeyObject, time = new Date()): Checkpoint {
  const c = { origin, seq: head.seq, hash: head.hash, time: time.toISOString() };
  return { ...c, publicKey: formatPublicKey(createPublicKey(key)), signature: sign(null, message(c), key).toString('base64') };
}

export function checkpointValid(c: Checkpoint, trustedKey: string | null): boolean {
  if (!trustedKey || c.publicKey?.trim() !== trustedKey.trim()) return false;
  try {
    return verify(null, message(c), parsePublicKey(trustedKey), Buffer.from(c.signature, 'base64'));
  } catch {
    return false;
  }
}

/** Writes a signed checkpoint of the current head to every backup destination. */
export async function writeCheckpoint(ctx: Context, key: KeyObject): Promise<{ checkpoint: Checkpoint; destinations: string[] }> {
  const { policyInForce } = await import('../policy/chain.js');
  const { inForce, problem } = await policyInForce(ctx);
  if (!inForce) throw new RefusedError(problem!, 'policy.none');
  const pub = formatPublicKey(createPublicKey(key));
  if (inForce.policy.checkpointKey !== pub) throw new RefusedError('this key is not the checkpoint key of the policy in force (policy.checkpointKey)', 'audit.checkpoint-key');
  const origin = auditOrigin(ctx.auditLog.file);
  const recs = ctx.auditLog.read();
  const last = recs[recs.length - 1];
  if (!last) throw new RefusedError('the audit log is empty: nothing to checkpoint', 'audit.empty');
  const checkpoint = signCheckpoint(origin, last, key);
  const { openDestinations, closeDestinations } = await import('../backup/destinations/index.js');
  const dests = openDestinations(ctx.loaded);
  try {
    const body = Buffer.from(JSON.stringify(checkpoint, null, 2) + '\n');
    await Promise.all(dests.map((d) => d.putBytes(`${checkpointPrefix(origin)}${String(checkpoint.seq).padStart(12, '0')}.json`, body)));
  } finally {
    await closeDestinations(dests);
  }
  await ctx.audit({ action: 'audit.checkpoint', command: 'prodguard audit checkpoint', target: '-', verdict: 'ok', reason: `checkpoint of record ${checkpoint.seq} (${checkpoint.hash.slice(0, 12)}) written to ${dests.map((d) => d.name).join(', ')}`, details: { origin, seq: checkpoint.seq, hash: checkpoint.hash, signerKey: pub } });
  return { checkpoint, destinations: dests.map((d) => d.name) };
}

export interface AnchorProblem {
  source: 'team store' | 'checkpoint';
  seq: number;
  problem: string;
}

export interface AnchorReport {
  origin: string;
  anchored: number;
  checkpoints: number;
  problems: AnchorProblem[];
  /** What could not be compared (no team store, no destinations, no key). */
  notes: string[];
  /** With `otherOrigins`: other machines' team-store rows no signed checkpoint vouches for (unvouched.ts, ap-050). */
  unvouched?: import('./unvouched.js').UnvouchedOrigin[];
}

/** Compares the local log with the team store's copy and the signed checkpoints. */
export async function verifyAnchored(ctx: Context, local: AuditRecord[] = ctx.auditLog.read(), opts: { otherOrigins?: boolean } = {}): Promise<AnchorReport> {
  const origin = auditOrigin(ctx.auditLog.file);
  const bySeq = new Map(local.map((r) => [r.seq, r]));
  const problems: AnchorProblem[] = [];
  const notes: string[] = [];
  let anchored = 0;
  const store = await ctx.store();
  if (store.readAudit) {
    const rows = await store.readAudit(origin);
    anchored = rows.length;
    const missing: number[] = [];
    for (const row of rows) {
      const l = bySeq.get(row.seq);
      if (!l) missing.push(row.seq);
      else if (l.hash !== row.hash) problems.push({ source: 'team store', seq: row.seq, problem: `record ${row.seq} was changed: the team store holds a different record (${(row.record as AuditRecord).action}: ${(row.record as AuditRecord).reason?.slice(0, 80)})` });
    }
    if (missing.length) problems.push({ source: 'team store', seq: missing[0], problem: `${missing.length} record(s) in the team store are missing from the local log (seq ${ranges(missing)}), e.g. ${describe(rows.find((r) => r.seq === missing[0])!.record as AuditRecord)}` });
    // A record is anchored when the store holds exactly it: under this origin, or displaced there
    // because its seq was taken by a record the local log no longer has (ap-051).
    const held = new Set(rows.map((r) => `${r.seq}:${r.hash}`));
    const displaced = (await store.readDisplacedAudit?.(origin)) ?? [];
    for (const row of displaced) held.add(`${row.seq}:${row.hash}`);
    const unanchored = local.filter((r) => !held.has(`${r.seq}:${r.hash}`)).map((r) => r.seq);
    if (unanchored.length) problems.push({ source: 'team store', seq: unanchored[0], problem: `${unanchored.length} local record(s) are not in the team store (seq ${ranges(unanchored)}): written while it was unreachable, or inserted` });
  } else notes.push(`the state store is ${store.kind}: no team store to compare with (state.store: postgres)`);
  let checkpoints = 0;
  if (ctx.loaded.config.backup.destinations.length) {
    const { policyInForce } = await import('../policy/chain.js');
    const key = (await policyInForce(ctx)).inForce?.policy.checkpointKey ?? null;
    const { openDestinations, closeDestinations } = await import('../backup/destinations/index.js');
    let dests: Awaited<ReturnType<typeof openDestinations>> = [];
    try {
      dests = openDestinations(ctx.loaded);
    } catch (err) {
      notes.push(`cannot open the backup destinations to read checkpoints: ${errorMessage(err)}`);
    }
    try {
      for (const d of dests) {
        let listed: Array<{ key: string }>;
        try {
          listed = await d.list(checkpointPrefix(origin));
        } catch (err) {
          notes.push(`${d.name}: cannot list checkpoints (${errorMessage(err)})`);
          continue;
        }
        for (const o of listed) {
          const raw = await d.getBytes(o.key);
          let c: Checkpoint;
          try {
            c = JSON.parse(raw!.toString('utf8')) as Checkpoint;
          } catch {
            problems.push({ source: 'checkpoint', seq: 0, problem: `${d.name}:${o.key} is not a checkpoint` });
            continue;
          }
          // An unverifiable checkpoint still counts as an alarm: forging one only raises a false alarm,
          // while ignoring it would let "delete the log and the state (and so the policy)" pass.
          const valid = checkpointValid(c, key);
          if (!valid) notes.push(`${d.name}:${o.key}: not verifiable with the policy's checkpoint key${key ? '' : ' (no policy in force, or it names no checkpoint key)'}`);
          else checkpoints++;
          const l = bySeq.get(c.seq);
          if (!l) problems.push({ source: 'checkpoint', seq: c.seq, problem: `the ${valid ? 'signed ' : ''}checkpoint on ${d.name} (${c.time}) vouches for record ${c.seq}, which the local log does not have (records deleted, or the log was replaced)` });
          else if (l.hash !== c.hash) problems.push({ source: 'checkpoint', seq: c.seq, problem: `record ${c.seq} differs from the checkpoint on ${d.name} (${c.time}): the log was rewritten` });
        }
      }
    } finally {
      await closeDestinations(dests);
    }
  } else notes.push('no backup destinations: no checkpoints to compare with');
  if (opts.otherOrigins && store.auditOrigins) {
    // Reads every origin's summary: `audit verify` asks for it, status does not (the gateway's rows are many).
    const { policyInForce } = await import('../policy/chain.js');
    const key = (await policyInForce(ctx)).inForce?.policy.checkpointKey ?? null;
    const { checkOtherOrigins } = await import('./unvouched.js');
    const other = await checkOtherOrigins(ctx, origin, key);
    problems.push(...other.problems);
    notes.push(...other.notes);
    return { origin, anchored, checkpoints, problems, notes, unvouched: other.unvouched };
  }
  return { origin, anchored, checkpoints, problems, notes };
}

function describe(r: AuditRecord): string {
  return `${r.seq} ${r.time} ${r.action} ${r.verdict}`;
}

function ranges(seqs: number[]): string {
  const s = [...seqs].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    out.push(i === j ? `${s[i]}` : `${s[i]}–${s[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}
