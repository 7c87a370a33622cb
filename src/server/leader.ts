/**
 * Leader election among several `prodguard serve` processes over one PostgreSQL database: the
 * leader holds a session-level advisory lock (pg_try_advisory_lock) on its own connection.
 * PostgreSQL releases the lock the moment that session ends — the leader exits, is killed, or
 * its connection drops — and a follower, retrying every `pollMs`, takes over. The leader checks
 * its connection on the same interval and steps down when it is gone, so two leaders never run
 * jobs at once for longer than one poll. Works over any PostgreSQL connection (the team store's
 * included); it needs no table.
 */
import pg from 'pg';
import { createHash } from 'node:crypto';
import { errorMessage } from '../errors.js';

export interface LeaderElectionOptions {
  url: string;
  /** Names the lock: processes electing for the same project share it. */
  lockName: string;
  pollMs: number;
  onChange?: (leader: boolean) => void;
  onError?: (message: string) => void;
}

/** Two 32-bit keys from the lock name (pg_try_advisory_lock(int, int)). */
export function lockKeys(name: string): [number, number] {
  const h = createHash('sha256').update(`prodguard.serve:${name}`).digest();
  return [h.readInt32BE(0), h.readInt32BE(4)];
}

export class LeaderElection {
  private client: pg.Client | null = null;
  private leader = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private busy: Promise<void> = Promise.resolve();

  constructor(private readonly opts: LeaderElectionOptions) {}

  isLeader(): boolean {
    return this.leader;
  }

  /** Tries once right away, then every pollMs. */
  async start(): Promise<void> {
    await this.attempt();
    this.timer = setInterval(() => void this.attempt(), this.opts.pollMs);
  }

  private setLeader(v: boolean): void {
    if (this.leader === v) return;
    this.leader = v;
    this.opts.onChange?.(v);
  }

  private async drop(message: string): Promise<void> {
    this.setLeader(false);
    this.opts.onError?.(message);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => {});
  }

  attempt(): Promise<void> {
    this.busy = this.busy.then(async () => {
      if (this.stopped) return;
      try {
        if (!this.client) {
          const c = new pg.Client({ connectionString: this.opts.url, application_name: 'prodguard serve (leader election)', connectionTimeoutMillis: 10_000 });
          c.on('error', (err) => void this.drop(`leader election connection lost: ${err.message}`));
          await c.connect();
          this.client = c;
        }
        const [a, b] = lockKeys(this.opts.lockName);
        if (this.leader) {
          // Still holding it? (The lock lives as long as this session.)
          await this.client.query('SELECT 1');
          return;
        }
        const r = await this.client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [a, b]);
        this.setLeader(r.rows[0].ok);
      } catch (err) {
        await this.drop(`leader election: ${errorMessage(err)}`);
      }
    });
    return this.busy;
  }

  /** Steps down (releases the lock by ending the session). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.busy;
    const c = this.client;
    this.client = null;
    this.setLeader(false);
    await c?.end().catch(() => {});
  }
}
