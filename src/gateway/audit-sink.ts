/**
 * Per-statement audit for the gateway. Every statement becomes a hash-chained record in the same
 * format as the main audit log (src/audit/log.ts), so `prodguard audit verify`'s checker works
 * on it; but the gateway writes its own file, in batches, holding the file for its lifetime: the
 * main log re-reads its file on every append, which a proxy relaying thousands of statements a
 * second cannot afford. Records are buffered for at most `flushMs` and flushed on shutdown.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync, appendFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { GENESIS, recordHash, type AuditInput, type AuditRecord } from '../audit/log.js';
import { ProdguardError } from '../errors.js';

function lastOf(file: string): { seq: number; hash: string } {
  if (!existsSync(file)) return { seq: 0, hash: GENESIS };
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  if (!lines.length) return { seq: 0, hash: GENESIS };
  try {
    const r = JSON.parse(lines[lines.length - 1]) as AuditRecord;
    return { seq: r.seq, hash: r.hash };
  } catch {
    return { seq: lines.length, hash: createHash('sha256').update(lines[lines.length - 1]).digest('hex') };
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class GatewayAuditSink {
  private head: { seq: number; hash: string };
  private buffer: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly lock: string;
  written = 0;

  constructor(readonly file: string, private readonly flushMs = 100) {
    mkdirSync(dirname(file), { recursive: true });
    this.lock = `${file}.gateway-lock`;
    // One writer per file: a second gateway on the same log would fork the chain.
    if (existsSync(this.lock)) {
      const pid = Number(readFileSync(this.lock, 'utf8').trim());
      if (pid && pidAlive(pid) && pid !== process.pid) throw new ProdguardError(`another gateway (pid ${pid}) writes ${file}; give each gateway its own gateway.auditLog`, { code: 'gateway.audit-locked' });
      unlinkSync(this.lock);
    }
    const fd = openSync(this.lock, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    this.head = lastOf(file);
  }

  append(input: AuditInput & { actor: string }): void {
    const body: Omit<AuditRecord, 'hash'> = {
      seq: this.head.seq + 1,
      time: new Date().toISOString(),
      actor: input.actor,
      action: input.action,
      command: input.command,
      target: input.target,
      verdict: input.verdict,
      reason: input.reason,
      ...(input.details ? { details: input.details } : {}),
      prev: this.head.hash,
    };
    const hash = recordHash(body);
    this.head = { seq: body.seq, hash };
    this.buffer.push(JSON.stringify({ ...body, hash }));
    this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.buffer.length) return;
    const text = this.buffer.join('\n') + '\n';
    this.written += this.buffer.length;
    this.buffer = [];
    appendFileSync(this.file, text, { mode: 0o600 });
  }

  close(): void {
    this.flush();
    try {
      unlinkSync(this.lock);
    } catch {
      /* already gone */
    }
  }
}
