/**
 * The team store's copy of the gateway's per-statement audit (when `state.store: postgres`): the
 * local file can be rewritten by whoever runs the gateway's machine, the store's append-only
 * table cannot by the role prodguard writes with (src/audit/sql/anchor.ts). Batches of records
 * the sink wrote go to the store in the background, one multi-row INSERT at a time, so the relay
 * never waits on the store.
 *
 * The queue is bounded: if the store is unreachable or slower than the gateway for long, records
 * beyond `maxQueued` are not copied (the file still holds every one) and the gap is itself
 * written to the audit log as a `gateway.audit-store-gap` event once the store answers again.
 */
import type { StateStore } from '../store/store.js';

export class StoreAuditCopy {
  private queue: string[] = [];
  private running: Promise<void> | null = null;
  private dropped = 0;
  private failures = 0;
  copied = 0;
  lastError: string | null = null;

  constructor(
    private readonly store: StateStore,
    readonly origin: string,
    private readonly onGap: (dropped: number, why: string) => void,
    private readonly maxQueued = 200_000,
    private readonly batch = 2000,
  ) {}

  static supported(store: StateStore): boolean {
    return typeof store.appendAuditBatch === 'function';
  }

  /** Lines as the sink wrote them (each a complete JSON record with seq and hash). */
  enqueue(lines: string[]): void {
    const room = this.maxQueued - this.queue.length;
    if (lines.length > room) {
      this.dropped += lines.length - Math.max(0, room);
      lines = lines.slice(0, Math.max(0, room));
    }
    for (const l of lines) this.queue.push(l);
    this.running ??= this.drain().finally(() => (this.running = null));
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const lines = this.queue.slice(0, this.batch);
      const recs = lines.map((json) => {
        const r = JSON.parse(json) as { seq: number; hash: string };
        return { seq: r.seq, hash: r.hash, json };
      });
      try {
        await this.store.appendAuditBatch!(this.origin, recs);
        this.queue.splice(0, lines.length);
        this.copied += lines.length;
        this.failures = 0;
        if (this.dropped) {
          const n = this.dropped;
          this.dropped = 0;
          this.onGap(n, this.lastError ?? 'queue full');
        }
      } catch (err) {
        this.lastError = (err as Error).message;
        // Back off and retry; the bounded queue decides what is given up.
        this.failures++;
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** Math.min(this.failures, 6))).unref());
        if (this.failures > 50) return;
      }
    }
  }

  /** Waits (at most `timeoutMs`) until everything queued is in the store. */
  async close(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.queue.length || this.running) && Date.now() < deadline) {
      this.running ??= this.drain().finally(() => (this.running = null));
      await Promise.race([this.running, new Promise((r) => setTimeout(r, 100))]);
    }
  }

  get pending(): number {
    return this.queue.length;
  }
}
