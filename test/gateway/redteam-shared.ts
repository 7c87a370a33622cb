/**
 * Shared pieces of the red-team regression tests: the red team's schema (customers, orders, a
 * writing function bump and a view v_bump that calls it), a checksum of data and catalog like
 * their checksum.sh, a raw-protocol client that sends exact bytes, and a psql runner.
 */
import { spawn } from 'node:child_process';
import pg from 'pg';
import { openUpstream, type UpstreamSession } from '../../src/gateway/upstream.js';
import { MessageReader, message, parseErrorFields } from '../../src/gateway/protocol.js';
import { PASSWORDS } from './fixture.js';

export const REDTEAM_SETUP = `
create table customers(id serial primary key, name text, email text, balance numeric);
insert into customers(name,email,balance) select 'c'||g, 'c'||g||'@x.test', g*10 from generate_series(1,1000) g;
create table orders(id bigserial primary key, customer_id int references customers, total numeric, created_at timestamptz default now());
insert into orders(customer_id,total) select (g%1000)+1, g from generate_series(1,5000) g;
create function bump(i int) returns int language sql as $$ update customers set balance = balance + 1 where id = i returning id $$;
create view v_bump as select bump(1) as x;`;

/** One hash of the data and the catalog (tables, rows, functions, roles, settings, triggers). */
export async function checksum(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query(`select md5(concat_ws('|',
      (select md5(string_agg(t::text, ',' order by t::text)) from customers t),
      (select md5(string_agg(t::text, ',' order by t::text)) from orders t),
      (select md5(string_agg(c.oid::text||c.relname||c.relkind::text||coalesce(c.relacl::text,''), ',' order by c.oid)) from pg_class c),
      (select md5(string_agg(p.oid::text||p.proname||p.prosrc, ',' order by p.oid)) from pg_proc p),
      (select md5(string_agg(rolname||rolsuper::text||rolcanlogin::text||coalesce(rolconfig::text,''), ',' order by rolname)) from pg_roles),
      (select md5(string_agg(coalesce(setconfig::text,''), ',')) from pg_db_role_setting),
      (select md5(string_agg(oid::text, ',' order by oid)) from pg_largeobject_metadata),
      (select md5(string_agg(evtname||evtenabled::text, ',' order by evtname)) from pg_event_trigger),
      (select md5(string_agg(tgname||tgenabled::text, ',' order by tgname)) from pg_trigger))) as h`);
    return r.rows[0].h as string;
  } finally {
    await c.end();
  }
}

/** A session through the gateway that sends exact bytes and collects the answers up to ReadyForQuery. */
export class RawSession {
  private reader = new MessageReader();
  private waiting: (() => void) | null = null;
  private constructor(private readonly up: UpstreamSession) {
    this.reader.typed = true;
    up.socket.on('data', (d: Buffer) => {
      this.reader.push(d);
      this.waiting?.();
    });
    up.socket.on('error', () => {});
    up.socket.on('close', () => this.waiting?.());
    if (up.leftover.length) this.reader.push(up.leftover);
    up.socket.resume();
  }

  static async open(port: number, database: string): Promise<RawSession> {
    const up = await openUpstream({ host: '127.0.0.1', port, user: 'dave', password: PASSWORDS.dave, database, params: { sslmode: 'disable' } } as never, {}, {});
    return new RawSession(up);
  }

  /** Sends bytes; resolves with "ok" or the SQLSTATE of the first error before ReadyForQuery. */
  async send(bytes: Buffer): Promise<{ error?: string; message?: string; rows: number }> {
    this.up.socket.write(bytes);
    let error: string | undefined;
    let msg: string | undefined;
    let rows = 0;
    for (;;) {
      const m = this.reader.next();
      if (!m) {
        if (this.up.socket.destroyed) return { error: 'closed', rows };
        await new Promise<void>((r) => (this.waiting = r));
        continue;
      }
      if (m.type === 'E' && !error) {
        const f = parseErrorFields(m.body);
        error = f.C;
        msg = f.M;
      }
      if (m.type === 'D') rows++;
      if (m.type === 'Z') return { error, message: msg, rows };
    }
  }

  query(text: Buffer | string): Promise<{ error?: string; message?: string; rows: number }> {
    const b = Buffer.isBuffer(text) ? text : Buffer.from(text);
    return this.send(message('Q', Buffer.concat([b, Buffer.from([0])])));
  }

  /** Parse (unnamed) + Bind (text parameters) + Execute + Sync of exact bytes. */
  extended(text: Buffer | string, params: string[] = []): Promise<{ error?: string; message?: string; rows: number }> {
    const b = Buffer.isBuffer(text) ? text : Buffer.from(text);
    const n = Buffer.alloc(2);
    n.writeInt16BE(params.length);
    const values = params.map((v) => {
      const len = Buffer.alloc(4);
      len.writeInt32BE(Buffer.byteLength(v));
      return Buffer.concat([len, Buffer.from(v)]);
    });
    return this.send(Buffer.concat([
      message('P', '', Buffer.concat([b, Buffer.from([0])]), Buffer.from([0, 0])),
      message('B', '', '', Buffer.from([0, 0]), n, ...values, Buffer.from([0, 0])),
      message('E', '', 0),
      message('S'),
    ]));
  }

  close(): void {
    this.up.socket.end(Buffer.from([0x58, 0, 0, 0, 4]));
  }
}

/** Runs psql without blocking the event loop (the gateway runs in this process). */
export function psql(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', ['-X', '-v', 'ON_ERROR_STOP=0', ...args], { env: { ...process.env, PGCONNECT_TIMEOUT: '5', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end('');
  });
}
