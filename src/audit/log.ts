/**
 * The audit log: an append-only JSON-lines file in which every record carries the SHA-256 of
 * the previous one. Editing, deleting, inserting or reordering any line breaks the chain, and
 * `verify` says which record. The newest record's seq and hash are also kept in the state store,
 * so cutting records off the end is caught too.
 *
 * Everything is masked (connection strings, passwords, tokens) before it is hashed and written.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { maskDeep } from '../security/mask.js';
import { currentActorWithSource, type ActorSource } from './actor.js';
import { lastLineOf } from './last-line.js';
import { requireRegularFile } from '../security/private-file.js';

export interface AuditInput {
  /** The operation, e.g. "guard.check", "backup.create", "migrate.deploy". */
  action: string;
  /** The command line or arguments as given (masked before writing). */
  command: string;
  /** Target environment name, or "unknown" / "-" when none. */
  target: string;
  /** allow / deny / backup-first / ok / failed / degraded / refused … */
  verdict: string;
  reason: string;
  actor?: string;
  /**
   * Where `actor` came from (red team ap-082). Without `actor` it is filled in with the name
   * (self-declared); `signature` / `ci-token` only where the caller verified one in this operation.
   */
  actorSource?: ActorSource;
  details?: Record<string, unknown>;
}

export interface AuditRecord extends Required<Omit<AuditInput, 'details' | 'actorSource'>> {
  seq: number;
  time: string;
  /** Absent in records written before the field existed (their hash covers no such key): self-declared. */
  actorSource?: ActorSource;
  details?: Record<string, unknown>;
  prev: string;
  hash: string;
}

export const GENESIS = '0'.repeat(64);

/** Canonical JSON (sorted keys) so the hash does not depend on key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return '[' + value.map(canonical).join(',') + ']';
  if (value && typeof value === 'object') {
    return '{' + Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => JSON.stringify(k) + ':' + canonical((value as Record<string, unknown>)[k])).join(',') + '}';
  }
  return JSON.stringify(value);
}

export function recordHash(rec: Omit<AuditRecord, 'hash'>): string {
  return createHash('sha256').update(canonical(rec)).digest('hex');
}

function sleep(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Cross-process mutex for appends: an exclusive lock file, stolen when stale (a killed writer). */
function withLock<T>(file: string, fn: () => T): T {
  const lock = `${file}.lock`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 10_000) unlinkSync(lock);
      } catch {
        /* someone else removed it */
      }
      if (Date.now() > deadline) throw new Error(`audit log is locked (${lock}); remove the file if no prodguard is running`);
      sleep(5 + Math.random() * 20);
    }
  }
  try {
    return fn();
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      /* already gone */
    }
  }
}

function lastRecord(file: string): { seq: number; hash: string } {
  if (!existsSync(file)) return { seq: 0, hash: GENESIS };
  // Only the last line is read (src/audit/last-line.ts): the head, not the whole log.
  const last = lastLineOf(file);
  if (!last) return { seq: 0, hash: GENESIS };
  try {
    const r = JSON.parse(last) as AuditRecord;
    return { seq: r.seq, hash: r.hash };
  } catch {
    // A damaged last line must not stop auditing; chain onto a hash of the raw line so verify flags it.
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
    return { seq: lines.length, hash: createHash('sha256').update(lines[lines.length - 1]).digest('hex') };
  }
}

export class AuditLog {
  constructor(
    readonly file: string,
    /** Called with the new head after each append (the state store keeps it). */
    private onHead?: (head: { seq: number; hash: string }) => Promise<void> | void,
  ) {}

  async append(input: AuditInput): Promise<AuditRecord> {
    requireRegularFile(this.file, 'the audit log (state.auditLog)');
    mkdirSync(dirname(this.file), { recursive: true });
    const rec = withLock(this.file, () => {
      const last = lastRecord(this.file);
      const who = input.actor === undefined ? currentActorWithSource() : { actor: input.actor, source: input.actorSource };
      const masked = maskDeep({ ...input, actor: who.actor });
      const body: Omit<AuditRecord, 'hash'> = {
        seq: last.seq + 1,
        time: new Date().toISOString(),
        actor: masked.actor!,
        ...(who.source ? { actorSource: who.source } : {}),
        action: masked.action,
        command: masked.command,
        target: masked.target,
        verdict: masked.verdict,
        reason: masked.reason,
        ...(masked.details ? { details: masked.details } : {}),
        prev: last.hash,
      };
      const full: AuditRecord = { ...body, hash: recordHash(body) };
      appendFileSync(this.file, JSON.stringify(full) + '\n', { mode: 0o600 });
      // mode only applies when the file is created; a log made by an older version is fixed here.
      if ((statSync(this.file).mode & 0o077) !== 0) chmodSync(this.file, 0o600);
      return full;
    });
    await this.onHead?.({ seq: rec.seq, hash: rec.hash });
    return rec;
  }

  read(): AuditRecord[] {
    if (!existsSync(this.file)) return [];
    return readFileSync(this.file, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as AuditRecord];
        } catch {
          return [];
        }
      });
  }

  tail(n: number): AuditRecord[] {
    const all = this.read();
    return all.slice(Math.max(0, all.length - n));
  }
}

export interface VerifyProblem {
  line: number;
  seq: number | null;
  problem: string;
}

export interface VerifyResult {
  ok: boolean;
  records: number;
  problems: VerifyProblem[];
}

/**
 * Walks the chain. Reports, per line: unparseable, edited (hash does not match its content),
 * out of order / inserted (seq not the next one), deleted (a gap in seq), broken link (prev is not
 * the previous record's hash), and a tail shorter than the head the store remembers.
 */
export function verifyAuditText(text: string, expectedHead?: { seq: number; hash: string } | null): VerifyResult {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const problems: VerifyProblem[] = [];
  let prevHash = GENESIS;
  let prevSeq = 0;
  let count = 0;
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (!raw.trim()) {
      problems.push({ line, seq: null, problem: 'blank line inserted' });
      return;
    }
    let rec: AuditRecord;
    try {
      rec = JSON.parse(raw) as AuditRecord;
    } catch {
      problems.push({ line, seq: null, problem: 'not valid JSON (edited by hand?)' });
      prevHash = createHash('sha256').update(raw).digest('hex');
      prevSeq += 1;
      return;
    }
    count++;
    const { hash, ...body } = rec;
    if (recordHash(body) !== hash) problems.push({ line, seq: rec.seq, problem: `record ${rec.seq} was edited: its content does not match its hash` });
    if (rec.seq === prevSeq + 1) {
      if (rec.prev !== prevHash) problems.push({ line, seq: rec.seq, problem: `record ${rec.seq} does not chain to the record before it` });
    } else if (rec.seq > prevSeq + 1) {
      const missing = rec.seq - prevSeq - 1;
      problems.push({
        line,
        seq: rec.seq,
        problem: missing === 1 ? `record ${prevSeq + 1} is missing (deleted) before record ${rec.seq}` : `records ${prevSeq + 1}–${rec.seq - 1} are missing (deleted) before record ${rec.seq}`,
      });
    } else {
      problems.push({ line, seq: rec.seq, problem: `record ${rec.seq} is out of order or inserted (expected record ${prevSeq + 1} at line ${line})` });
    }
    prevHash = hash;
    prevSeq = Math.max(prevSeq, rec.seq);
  });
  if (expectedHead && expectedHead.seq > 0) {
    if (prevSeq < expectedHead.seq) {
      problems.push({ line: lines.length + 1, seq: null, problem: `records ${prevSeq + 1}–${expectedHead.seq} were cut off the end (the state store recorded ${expectedHead.seq} records)` });
    } else if (prevSeq === expectedHead.seq && prevHash !== expectedHead.hash) {
      problems.push({ line: lines.length, seq: prevSeq, problem: `the last record ${prevSeq} differs from the one the state store recorded` });
    }
  }
  return { ok: problems.length === 0, records: count, problems };
}
