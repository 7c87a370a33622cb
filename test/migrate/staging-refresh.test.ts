/**
 * Issue #20: staging refresh of a PII-rich production (jsonb profiles, arrays of e-mails, free
 * text, bytea, a large object, an e-mail primary key referenced by a foreign key, a generated
 * column, a materialized view, an audit trigger, tokens and password hashes). Real clusters,
 * real pg_dump/pg_restore, a real CLI process for the kill -9.
 */
import { withDatabase } from '../../src/pg/conninfo.js';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { sharedCluster, sql } from '../helpers/pg.js';
import { runCli } from '../helpers/cli.js';
import { migrateFixture, type MigrateFixture } from './fixture.js';
import { refreshStaging } from '../../src/migrate/staging-refresh.js';
import { createBackup, verifyBackup } from '../../src/backup/index.js';
import { pgBin } from '../../src/pg/binaries.js';

const cluster = sharedCluster({ name: 'prodguard-test-refresh' });
let fx: MigrateFixture;

const N = 300;
const email = (i: number) => `Customer.${i}@RealMail.test`;
const originals = (i: number) => [
  email(i),
  `Realname${i} Surname`,
  `+44 7700 9${String(i).padStart(5, '0')}`,
  `sk_live_SECRETTOKEN${i}abcdef`,
  `$2b$10$hashhashhashhashhash${i}`,
  `friend.${i}@realmail.test`,
  `Tel 0207 946 ${String(i).padStart(4, '0')}`,
  `Street ${i} Real Avenue`,
  `Passport secret content ${i}`,
  `LargeObject secret ${i}`,
];

const PII_SQL = `
CREATE SCHEMA auth;
CREATE TABLE auth.users (email text PRIMARY KEY, full_name text, phone text UNIQUE, encrypted_password text, api_token text,
  profile jsonb, other_emails text[], notes text, passport bytea, scan oid,
  email_lower text GENERATED ALWAYS AS (lower(email)) STORED, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE public.orders (id int PRIMARY KEY, customer_email text NOT NULL REFERENCES auth.users(email), total numeric NOT NULL);
CREATE TABLE public.audit_log (id bigserial PRIMARY KEY, row_data text);
CREATE FUNCTION public.audit_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO public.audit_log(row_data) VALUES (row_to_json(NEW)::text); NEW.updated_at := now(); RETURN NEW; END $$;
CREATE TRIGGER users_audit BEFORE UPDATE ON auth.users FOR EACH ROW EXECUTE FUNCTION public.audit_fn();
CREATE MATERIALIZED VIEW public.customer_emails AS SELECT email, full_name FROM auth.users;
INSERT INTO auth.users (email, full_name, phone, encrypted_password, api_token, profile, other_emails, notes, passport, scan, updated_at)
SELECT 'Customer.' || i || '@RealMail.test', 'Realname' || i || ' Surname', '+44 7700 9' || lpad(i::text, 5, '0'),
       '$2b$10$hashhashhashhashhash' || i, 'sk_live_SECRETTOKEN' || i || 'abcdef',
       jsonb_build_object('name', 'Realname' || i || ' Surname', 'plan', 'pro', 'contacts', jsonb_build_array(jsonb_build_object('email', 'friend.' || i || '@realmail.test', 'kind', 'friend')), 'address', 'Street ' || i || ' Real Avenue'),
       ARRAY['Customer.' || i || '@RealMail.test', 'friend.' || i || '@realmail.test'],
       'Call me on Tel 0207 946 ' || lpad(i::text, 4, '0') || ' or write to friend.' || i || '@realmail.test, thanks',
       convert_to('Passport secret content ' || i, 'UTF8'),
       lo_from_bytea(0, convert_to('LargeObject secret ' || i, 'UTF8')),
       '2020-01-01'
  FROM generate_series(1, ${N}) i;
INSERT INTO public.orders SELECT i, 'Customer.' || i || '@RealMail.test', i * 10 FROM generate_series(1, ${N}) i;
REFRESH MATERIALIZED VIEW public.customer_emails;
`;

const RULES = [
  { table: 'auth.users', column: 'email', strategy: 'email' },
  { table: 'auth.users', column: 'full_name', strategy: 'name' },
  { table: 'auth.users', column: 'phone', strategy: 'hash' },
  { table: 'auth.users', column: 'encrypted_password', strategy: 'hash' },
  { table: 'auth.users', column: 'api_token', strategy: 'text' },
  { table: 'auth.users', column: 'profile', strategy: 'name', paths: ['$.name'] },
  { table: 'auth.users', column: 'profile', strategy: 'text', paths: ['$.address'] },
  { table: 'auth.users', column: 'profile', strategy: 'scrub' },
  { table: 'auth.users', column: 'other_emails', strategy: 'email' },
  { table: 'auth.users', column: 'notes', strategy: 'scrub' },
  { table: 'auth.users', column: 'passport', strategy: 'null' },
  { table: 'auth.users', column: 'scan', strategy: 'null' },
  { table: 'audit_log', column: 'row_data', strategy: 'keep', reason: 'empty in production; audit rows of staging itself' },
];

let ready: Promise<void> | undefined;
const setup = () =>
  (ready ??= (async () => {
    fx = await migrateFixture(cluster(), 'rfr', {
      mutateConfig: (raw) => {
        raw.staging.masking = RULES;
      },
    });
    await sql(fx.prodUrl, PII_SQL);
    // Staging before the refresh: an old, already-masked state.
    await sql(fx.stagingUrl, `CREATE TABLE old_marker (v text); INSERT INTO old_marker VALUES ('old staging')`);
    const ctx = fx.ctx();
    const b = await createBackup(ctx, { env: 'production' });
    await verifyBackup(ctx, b.manifest.id, { env: 'production' });
  })());

after(async () => {
  await fx?.cleanup();
});

function dumpStaging(): string {
  const r = spawnSync(pgBin('pg_dump'), ['--no-owner', `--dbname=${fx.stagingUrl}`], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr);
  // pg_dump writes a random \\restrict key per run; the rest must match.
  return r.stdout.replace(/^\\(un)?restrict .*$/gm, '');
}

function leaked(text: string): string[] {
  const low = text.toLowerCase();
  const out: string[] = [];
  for (let i = 1; i <= N; i++) for (const o of originals(i)) if (low.includes(o.toLowerCase())) out.push(o);
  return out;
}

test('a refresh with an uncovered PII column refuses and leaves staging as it was', async () => {
  await setup();
  await fx.updateConfig((raw) => {
    raw.staging.masking = raw.staging.masking.filter((r: { column: string }) => r.column !== 'notes');
  });
  try {
    await assert.rejects(refreshStaging(fx.ctx(), { yes: true }), /personal data without a masking rule: auth\.users\.notes/);
    assert.deepEqual(await sql(fx.stagingUrl, 'SELECT v FROM old_marker'), [{ v: 'old staging' }]);
  } finally {
    await fx.updateConfig((raw) => {
      raw.staging.masking.push({ table: 'auth.users', column: 'notes', strategy: 'scrub' });
    });
  }
  // An empty rule list is refused before anything is touched.
  const saved: unknown[] = [];
  await fx.updateConfig((raw) => {
    saved.push(...raw.staging.masking);
    raw.staging.masking = [];
  });
  try {
    await assert.rejects(refreshStaging(fx.ctx(), { yes: true }), /staging\.masking is empty/);
  } finally {
    await fx.updateConfig((raw) => {
      raw.staging.masking = saved;
    });
  }
});

test('refresh: no original value anywhere in staging, a poller never sees one, no trigger fired, joins and views hold', async () => {
  await setup();
  // A client polling staging throughout the refresh (reconnecting when its session is ended).
  let polling = true;
  const seen: string[] = [];
  let polls = 0;
  let sawMasked = 0;
  const poller = (async () => {
    while (polling) {
      const c = new pg.Client({ connectionString: fx.stagingUrl });
      c.on('error', () => {});
      try {
        await c.connect();
        while (polling) {
          if ((await c.query(`SELECT to_regclass('auth.users') IS NOT NULL AS e`)).rows[0].e) {
            const rows = (await c.query(`SELECT u::text AS t FROM auth.users u UNION ALL SELECT v::text FROM public.customer_emails v`)).rows as Array<{ t: string }>;
            seen.push(...leaked(rows.map((x) => x.t).join('\n')));
            if (rows.length) sawMasked++;
          }
          polls++;
          await new Promise((r) => setTimeout(r, 20));
        }
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      } finally {
        await c.end().catch(() => {});
      }
    }
  })();
  // Autovacuum may ANALYZE the private copy before its masking commits (red team ag-005): do it here, for sure.
  const analyzeOriginals = async (at: string) => {
    if (at !== 'masking') return;
    const priv = await sql<{ datname: string }>(fx.stagingUrl, `SELECT datname FROM pg_database WHERE datname LIKE '%\\_\\_pgref\\_%'`);
    // The tables only: the masking transaction holds the materialized view it refreshed.
    for (const d of priv) await sql(withDatabase(fx.stagingUrl, d.datname), 'ANALYZE auth.users, public.orders');
    assert.ok(priv.length > 0, 'the private copy exists while masking');
  };
  const r = await refreshStaging(fx.ctx(), { yes: true, hold: analyzeOriginals });
  for (let i = 0; i < 100 && sawMasked === 0; i++) await new Promise((res) => setTimeout(res, 50)); // let it read the new staging too
  polling = false;
  await poller;
  assert.ok(polls > 0 && sawMasked > 0, `polls ${polls}, saw the new staging ${sawMasked} times`);
  assert.deepEqual(seen, [], 'the poller saw original values');
  assert.ok(r.maskedRows > 0);
  assert.deepEqual(r.schemaDifferences, [], "staging's schema equals production's");
  // Full dump of staging: none of the original values (case-insensitive), in any table, view or large object.
  const dump = dumpStaging();
  assert.deepEqual(leaked(dump), []);
  const los = await sql<{ n: string }>(fx.stagingUrl, 'SELECT count(*)::text AS n FROM pg_largeobject_metadata');
  assert.equal(los[0].n, '0', 'large objects were unlinked');
  // Red team ag-005: planner statistics (readable by anyone who can read the table) hold masked values only.
  const stats = await sql<{ t: string }>(fx.stagingUrl, `SELECT coalesce(most_common_vals::text, '') || ' ' || coalesce(histogram_bounds::text, '') AS t FROM pg_stats WHERE schemaname IN ('auth', 'public')`);
  assert.ok(stats.length > 0, 'the new staging has statistics');
  assert.deepEqual(leaked(stats.map((x) => x.t).join('\n')), [], 'pg_stats shows original values');
  // Red team ag-006: no dead row version with an original value is left in a masked table's file.
  const files = await sql<{ rel: string; bytes: string }>(fx.stagingUrl, `SELECT c.oid::regclass::text AS rel, encode(pg_read_binary_file(pg_relation_filepath(c.oid)), 'escape') AS bytes
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('auth', 'public') AND c.relkind IN ('r', 't', 'm') AND pg_relation_filepath(c.oid) IS NOT NULL`);
  assert.ok(files.some((f) => f.rel === 'auth.users'));
  assert.deepEqual(leaked(files.map((f) => f.bytes).join('\n')), [], 'a table file still holds an original value');
  // Triggers were off: the audit table gained no rows, updated_at kept.
  assert.deepEqual(await sql(fx.stagingUrl, 'SELECT count(*)::int AS n FROM public.audit_log'), [{ n: 0 }]);
  assert.deepEqual(await sql(fx.stagingUrl, `SELECT count(*)::int AS n FROM auth.users WHERE updated_at <> '2020-01-01'`), [{ n: 0 }]);
  // The e-mail key and the column referencing it were masked alike: the join holds, the FK validates.
  assert.deepEqual(await sql(fx.stagingUrl, 'SELECT count(*)::int AS n FROM public.orders o JOIN auth.users u ON u.email = o.customer_email'), [{ n: N }]);
  await sql(fx.stagingUrl, `ALTER TABLE public.orders DROP CONSTRAINT orders_customer_email_fkey, ADD CONSTRAINT orders_customer_email_fkey FOREIGN KEY (customer_email) REFERENCES auth.users(email)`);
  // Case-insensitive determinism: the array's copy of the (differently cased) primary e-mail masks alike; generated column recomputed.
  assert.deepEqual(await sql(fx.stagingUrl, `SELECT count(*)::int AS n FROM auth.users WHERE lower(other_emails[1]) = email_lower AND email = other_emails[1]`), [{ n: N }]);
  // The materialized view shows masked values.
  assert.deepEqual(await sql(fx.stagingUrl, `SELECT count(*)::int AS n FROM public.customer_emails v JOIN auth.users u USING (email)`), [{ n: N }]);
  // jsonb: structure kept, strings scrubbed.
  const p = await sql<{ profile: any }>(fx.stagingUrl, `SELECT profile FROM auth.users LIMIT 1`);
  assert.equal(p[0].profile.plan, 'pro');
  assert.equal(p[0].profile.contacts[0].email, 'redacted@example.invalid');
  // The private copy and the old staging are gone; staging's identity is staging's.
  assert.deepEqual(await sql(fx.prodUrl, `SELECT datname FROM pg_database WHERE datname LIKE '%\\_\\_pgref\\_%'`), []);
  assert.equal((await sql(fx.stagingUrl, `SELECT to_regclass('public.old_marker') AS t`))[0].t, null);
  const id = await sql<{ environment: string }>(fx.stagingUrl, 'SELECT environment FROM prodguard.environment_identity');
  assert.deepEqual(id.map((x) => x.environment), ['staging']);
  // Deterministic across refreshes (the salt is in the store).
  const first = await sql(fx.stagingUrl, 'SELECT email FROM auth.users ORDER BY 1');
  await refreshStaging(fx.ctx(), { yes: true });
  assert.deepEqual(await sql(fx.stagingUrl, 'SELECT email FROM auth.users ORDER BY 1'), first);
});

test('a staging URL reaching production by another name is refused; nothing is dropped', async () => {
  await setup();
  const respelled = fx.prodUrl.replace(/@(127\.0\.0\.1|localhost)/, '@[::ffff:127.0.0.1]');
  assert.notEqual(respelled, fx.prodUrl);
  process.env.RFR_STAGING_URL = respelled;
  try {
    await assert.rejects(refreshStaging(fx.ctx(), { yes: true }), /production/);
  } finally {
    process.env.RFR_STAGING_URL = fx.stagingUrl;
  }
  assert.ok((await sql(fx.prodUrl, `SELECT count(*)::int AS n FROM auth.users`))[0].n === N);
});

test('kill -9 during masking leaves the old staging and no plaintext file', async () => {
  await setup();
  await sql(fx.stagingUrl, `CREATE TABLE IF NOT EXISTS old_marker (v text); DELETE FROM old_marker; INSERT INTO old_marker VALUES ('before kill')`);
  const before = dumpStaging();
  const tmp = join(fx.dir, 'tmp');
  spawnSync('mkdir', ['-p', tmp]);
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'refresh-child.ts'), fx.dir, 'masking'], {
    env: { ...process.env, ...fx.env, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  await new Promise<void>((res, rej) => {
    const t = setInterval(() => {
      if (out.includes('HOLD masking')) {
        clearInterval(t);
        child.kill('SIGKILL');
        res();
      }
      if (child.exitCode !== null) {
        clearInterval(t);
        rej(new Error(`child ended early: ${out}`));
      }
    }, 20);
  });
  await new Promise((r) => child.once('close', r));
  // What the killed run left: a private copy nobody but its owner (and superusers) may connect to.
  await sql(fx.prodUrl, `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rfr_reader') THEN CREATE ROLE rfr_reader LOGIN; END IF; END $$`);
  const left = await sql<{ datname: string; can: boolean }>(fx.prodUrl, `SELECT datname, has_database_privilege('rfr_reader', datname, 'CONNECT') AS can FROM pg_database WHERE datname LIKE '%\\_\\_pgref\\_new\\_%'`);
  assert.equal(left.length, 1, 'the killed run left its private copy');
  assert.equal(left[0].can, false, 'nobody else may connect to the private copy');
  assert.deepEqual(await sql(fx.stagingUrl, 'SELECT v FROM old_marker'), [{ v: 'before kill' }]);
  assert.ok(dumpStaging() === before, 'staging is exactly as before');
  assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('prodguard-refresh-')), [], 'no plaintext dump left');
  // The next refresh removes the leftover private database and succeeds.
  await refreshStaging(fx.ctx(), { yes: true });
  assert.deepEqual(await sql(fx.prodUrl, `SELECT datname FROM pg_database WHERE datname LIKE '%\\_\\_pgref\\_%'`), []);
  assert.deepEqual(leaked(dumpStaging()), []);
});

test('staging plan and status rule 3 show masking coverage; an uncovered column fails both', async () => {
  await setup();
  await refreshStaging(fx.ctx(), { yes: true });
  const ok = await runCli(['staging', 'plan', '--json'], { cwd: fx.dir, env: fx.env });
  assert.equal(ok.code, 0, ok.stderr);
  const rep = JSON.parse(ok.stdout);
  assert.equal(rep.ok, true);
  assert.deepEqual(rep.uncovered, []);
  assert.ok(rep.masked.some((m: { table: string; column: string; via?: string }) => m.table === 'orders' && m.column === 'customer_email' && m.via === 'auth.users.email'));
  // A new PII column appears (as a later migration would add it): plan and status name it.
  await sql(fx.stagingUrl, `ALTER TABLE public.orders ADD COLUMN billing_email text; UPDATE public.orders SET billing_email = 'x' || id || '@example.invalid'`);
  const bad = await runCli(['staging', 'plan'], { cwd: fx.dir, env: fx.env });
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /MISSING public\.orders\.billing_email \(text\): name suggests an e-mail address; content holds e-mail addresses/);
  const st = await runCli(['status'], { cwd: fx.dir, env: fx.env });
  assert.match(st.stdout + st.stderr, /masking: \d+ masked, 1 kept, 1 uncovered of \d+ personal-data column\(s\) \(public\.orders\.billing_email/);
  await sql(fx.stagingUrl, `ALTER TABLE public.orders DROP COLUMN billing_email`);
});

test('grants come along (a role staging lacks is created NOLOGIN); the schema is compared with production and differences listed', async () => {
  await setup();
  await sql(fx.prodUrl, `CREATE ROLE rfr_app NOLOGIN PASSWORD 'prod-secret-pw'; GRANT USAGE ON SCHEMA auth TO rfr_app; GRANT SELECT ON public.orders TO rfr_app;
    ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY; CREATE POLICY orders_app ON public.orders FOR SELECT TO rfr_app USING (total > 0)`);
  const ctx = fx.ctx();
  const b = await createBackup(ctx, { env: 'production' });
  await verifyBackup(ctx, b.manifest.id, { env: 'production' });
  // The role disappears from the server (as if staging lived elsewhere), and production moves on.
  await sql(fx.prodUrl, `DROP POLICY orders_app ON public.orders; REVOKE ALL ON public.orders FROM rfr_app; REVOKE ALL ON SCHEMA auth FROM rfr_app; DROP ROLE rfr_app`);
  const r = await refreshStaging(fx.ctx(), { yes: true });
  assert.deepEqual(r.rolesCreated, ['rfr_app']);
  const role = await sql<{ rolcanlogin: boolean; pw: boolean }>(fx.stagingUrl, `SELECT rolcanlogin, rolpassword IS NOT NULL AS pw FROM pg_authid WHERE rolname = 'rfr_app'`);
  assert.deepEqual(role, [{ rolcanlogin: false, pw: false }]);
  assert.deepEqual(await sql(fx.stagingUrl, `SELECT has_table_privilege('rfr_app', 'public.orders', 'SELECT') AS ok`), [{ ok: true }]);
  assert.deepEqual(await sql(fx.stagingUrl, `SELECT policyname FROM pg_policies WHERE tablename = 'orders'`), [{ policyname: 'orders_app' }]);
  assert.ok(r.schemaDifferences.some((d) => /orders_app/.test(d)), r.schemaDifferences.join('\n'));
  await sql(fx.stagingUrl, `DROP POLICY orders_app ON public.orders; REVOKE ALL ON public.orders FROM rfr_app; REVOKE ALL ON SCHEMA auth FROM rfr_app`);
  await sql(fx.stagingUrl, `DROP ROLE rfr_app`);
});

test('unique-preserving: two phones whose masks collide stay unique in a UNIQUE column', async () => {
  await setup();
  const { maskingSalt } = await import('../../src/migrate/masking.js');
  const { createHash } = await import('node:crypto');
  const salt = await maskingSalt(fx.ctx());
  const mask = (v: string) => parseInt(createHash('md5').update(salt + v).digest('hex').slice(0, 8), 16) % 10_000_000;
  // Birthday search for two originals with the same 7-digit mask under this project's salt.
  const byMask = new Map<number, string>();
  let pair: [string, string] | null = null;
  for (let i = 0; !pair; i++) {
    const v = `+44 20 ${String(i).padStart(8, '0')}`;
    const m = mask(v);
    const other = byMask.get(m);
    if (other) pair = [other, v];
    else byMask.set(m, v);
  }
  // The pair really collides under the SQL strategy (so a plain UPDATE would violate the UNIQUE index).
  const { maskExpression } = await import('../../src/migrate/sql/masking.js');
  const same = await sql<{ m: string }>(fx.prodUrl, `SELECT ${maskExpression('phone', 'v')} AS m FROM unnest($2::text[]) v`.replace('$2', `ARRAY['${pair[0]}', '${pair[1]}']`).replace(/\$1/g, `'${salt}'`));
  assert.equal(same[0].m, same[1].m);
  await sql(fx.prodUrl, `CREATE TABLE public.contacts (id int PRIMARY KEY, phone text UNIQUE); INSERT INTO public.contacts VALUES (1, '${pair[0]}'), (2, '${pair[1]}')`);
  await fx.updateConfig((raw) => {
    raw.staging.masking.push({ table: 'public.contacts', column: 'phone', strategy: 'phone' });
  });
  const ctx = fx.ctx();
  const b = await createBackup(ctx, { env: 'production' });
  await verifyBackup(ctx, b.manifest.id, { env: 'production' });
  await refreshStaging(fx.ctx(), { yes: true });
  const rows = await sql<{ phone: string }>(fx.stagingUrl, 'SELECT phone FROM public.contacts ORDER BY id');
  assert.equal(rows.length, 2);
  assert.notEqual(rows[0].phone, rows[1].phone);
  for (const r of rows) assert.match(r.phone, /^\+1555\d{7}$/);
  assert.ok(!rows.some((r) => pair!.includes(r.phone)));
});

test('SIGTERM or SIGINT while the decrypted dump is on disk removes it; staging untouched', async () => {
  await setup();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    const tmp = join(fx.dir, `tmp-${sig}`);
    spawnSync('mkdir', ['-p', tmp]);
    const before = dumpStaging();
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'refresh-child.ts'), fx.dir, 'fetched'], {
      env: { ...process.env, ...fx.env, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    await new Promise<void>((res, rej) => {
      const t = setInterval(() => {
        if (out.includes('HOLD fetched')) {
          clearInterval(t);
          res();
        }
        if (child.exitCode !== null) {
          clearInterval(t);
          rej(new Error(`child ended early: ${out}`));
        }
      }, 20);
    });
    const dirs = readdirSync(tmp).filter((n) => n.startsWith('prodguard-refresh-'));
    assert.equal(dirs.length, 1);
    assert.ok(readdirSync(join(tmp, dirs[0]), { recursive: true }).length > 0, 'the plaintext dump is there while held');
    child.kill(sig);
    const code = await new Promise((r) => child.once('close', (c, s) => r(s ?? c)));
    assert.equal(code, sig);
    assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('prodguard-refresh-')), [], `${sig}: no plaintext dump left`);
    assert.ok(dumpStaging() === before, 'staging untouched');
  }
});

test('a refresh killed while staging connections were held off: the next refresh gives them back and completes', async () => {
  await setup();
  const db = new URL(fx.stagingUrl).pathname.slice(1);
  await sql(fx.prodUrl, `CREATE DATABASE "${db}__pgref_new_deadbeef"`);
  await sql(fx.prodUrl, `ALTER DATABASE "${db}" WITH ALLOW_CONNECTIONS false`);
  await refreshStaging(fx.ctx(), { yes: true });
  assert.deepEqual(await sql(fx.prodUrl, `SELECT datallowconn FROM pg_database WHERE datname = '${db}'`), [{ datallowconn: true }]);
  assert.deepEqual(await sql(fx.prodUrl, `SELECT datname FROM pg_database WHERE datname LIKE '%\\_\\_pgref\\_%'`), []);
  assert.deepEqual(leaked(dumpStaging()), []);
});

test('without any enrolment, a staging URL naming production by another host is refused by server identity', async () => {
  const fx2 = await migrateFixture(cluster(), 'rfu', { pinPolicy: false });
  try {
    const respelled = fx2.prodUrl.replace(/@(127\.0\.0\.1|localhost)/, '@[::ffff:127.0.0.1]');
    process.env.RFU_STAGING_URL = respelled;
    await fx2.updateConfig(() => {});
    await assert.rejects(refreshStaging(fx2.ctx(), { yes: true }), /is production's database .* on production's server \(system_identifier \d+, server of "production"\); refusing/);
    const a = fx2.ctx().auditLog.read().filter((x) => x.action === 'staging.refresh').at(-1);
    assert.equal(a?.verdict, 'refused');
  } finally {
    await fx2.cleanup();
  }
});

test('an open transaction in staging does not block the refresh forever: its session is ended, the refresh completes', async () => {
  await setup();
  const c = new pg.Client({ connectionString: fx.stagingUrl });
  let ended = false;
  c.on('error', () => {
    ended = true;
  });
  await c.connect();
  await c.query('BEGIN');
  await c.query('LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE');
  const phases: string[] = [];
  const r = await refreshStaging(fx.ctx(), { yes: true, onPhase: (p) => phases.push(p) });
  assert.ok(r.terminatedSessions >= 1, `terminated ${r.terminatedSessions}`);
  assert.ok(phases.some((p) => /ending \d+ session\(s\) connected to /.test(p)), phases.join('\n'));
  await assert.rejects(c.query('SELECT 1'));
  void ended;
  await c.end().catch(() => {});
});

/** Every regular file under `dir` that contains an original production value (case-insensitive). */
function plaintextFiles(dir: string): string[] {
  const hits: string[] = [];
  for (const rel of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, rel);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (!st.isFile()) continue;
    const found = leaked(readFileSync(p).toString('latin1'));
    if (found.length) hits.push(`${rel}: ${found.slice(0, 3).join(', ')}`);
  }
  return hits;
}

test('kill -9 while the backup is fetched or streamed into the private copy: no plaintext anywhere on disk, old staging intact', async () => {
  await setup();
  for (const at of ['fetched', 'restoring'] as const) {
    const tmp = join(fx.dir, `tmp-kill-${at}`);
    spawnSync('mkdir', ['-p', tmp]);
    const before = dumpStaging();
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'refresh-child.ts'), fx.dir, at], {
      env: { ...process.env, ...fx.env, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    await new Promise<void>((res, rej) => {
      const t = setInterval(() => {
        if (out.includes(`HOLD ${at}`)) {
          clearInterval(t);
          res();
        }
        if (child.exitCode !== null) {
          clearInterval(t);
          rej(new Error(`child ended early: ${out}`));
        }
      }, 20);
    });
    // While held: the work dir exists, and no file in the temp dir holds a production value.
    assert.equal(readdirSync(tmp).filter((n) => n.startsWith('prodguard-refresh-')).length, 1, at);
    assert.deepEqual(plaintextFiles(tmp), [], `${at}: plaintext on disk while the refresh runs`);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    // The watchdog removes the work dir once the process is gone.
    for (let i = 0; i < 100 && readdirSync(tmp).some((n) => n.startsWith('prodguard-refresh-')); i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('prodguard-refresh-')), [], `${at}: work dir left after kill -9`);
    assert.deepEqual(plaintextFiles(tmp), [], `${at}: plaintext left after kill -9`);
    assert.ok(dumpStaging() === before, `${at}: staging untouched`);
  }
  // The next refresh clears what the killed ones left and completes, masked.
  await refreshStaging(fx.ctx(), { yes: true });
  assert.deepEqual(await sql(fx.prodUrl, `SELECT datname FROM pg_database WHERE datname LIKE '%\\_\\_pgref\\_%'`), []);
  assert.deepEqual(leaked(dumpStaging()), []);
});

test('a private copy left by a refresh killed during restore is reported by status and backup list --leftovers, and backup prune --yes drops it', async () => {
  await setup();
  const tmp = join(fx.dir, 'tmp-leftover-report');
  spawnSync('mkdir', ['-p', tmp]);
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'refresh-child.ts'), fx.dir, 'restoring'], {
    env: { ...process.env, ...fx.env, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  await new Promise<void>((res, rej) => {
    const t = setInterval(() => {
      if (out.includes('HOLD restoring')) {
        clearInterval(t);
        child.kill('SIGKILL');
        res();
      }
      if (child.exitCode !== null) {
        clearInterval(t);
        rej(new Error(`child ended early: ${out}`));
      }
    }, 20);
  });
  await new Promise((r) => child.once('close', r));
  // The killed refresh's session ends on the server a moment after its process.
  for (let i = 0; i < 50; i++) {
    const n = await sql<{ n: string }>(fx.prodUrl, `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'prodguard staging refresh'`);
    if (Number(n[0].n) === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const left = await sql<{ datname: string }>(fx.prodUrl, `SELECT datname FROM pg_database WHERE datname LIKE '%\\_\\_pgref\\_new\\_%'`);
  assert.equal(left.length, 1, 'the killed run left its private copy');
  const name = left[0].datname;
  const list = await runCli(['backup', 'list', '--leftovers'], { cwd: fx.dir, env: fx.env });
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`database +staging:${name} +LEFTOVER of a killed staging refresh \\(private copy: may hold UNMASKED production rows\\)`));
  assert.doesNotMatch(list.stdout, /^no leftovers$/m);
  const st = await runCli(['status', '--json'], { cwd: fx.dir, env: fx.env });
  const checks = (JSON.parse(st.stdout) as { rules: Array<{ checks: Array<{ id: string; state: string; reason: string }> }> }).rules.flatMap((x) => x.checks);
  const check = checks.find((x) => x.id === 'backup.leftovers');
  assert.equal(check?.state, 'failing', JSON.stringify(check));
  assert.match(check!.reason, new RegExp(`private database\\(s\\) of killed staging refreshes, verifies or restores may hold UNMASKED production rows .*staging:${name}`));
  const dry = await runCli(['backup', 'prune', '--dry-run', '--json'], { cwd: fx.dir, env: fx.env });
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(JSON.parse(dry.stdout).databaseLeftovers, [`staging:${name}`]);
  const pr = await runCli(['backup', 'prune', '--yes', '--json'], { cwd: fx.dir, env: fx.env });
  assert.equal(pr.code, 0, pr.stderr);
  assert.deepEqual(JSON.parse(pr.stdout).databaseLeftovers, [`staging:${name}`]);
  assert.deepEqual(await sql(fx.prodUrl, `SELECT datname FROM pg_database WHERE datname LIKE '%\\_\\_pgref\\_%'`), []);
  // A live refresh's private copy is never reported: checked while one is held mid-restore.
  const { findRefreshLeftovers } = await import('../../src/migrate/refresh-leftovers.js');
  let seen: unknown[] | null = null;
  await refreshStaging(fx.ctx(), {
    yes: true,
    hold: async (phase) => {
      if (phase === 'restoring') seen = (await findRefreshLeftovers(fx.ctx().loaded)).databases;
    },
  });
  assert.deepEqual(seen, [], 'the running refresh\'s own private copy is not a leftover');
  assert.deepEqual(leaked(dumpStaging()), []);
});

test('kill -9 of backup verify --scratch-url: its scratch database on staging\'s server is closed to PUBLIC, reported as a leftover, and dropped by prune', async () => {
  await setup();
  const { CLI, TSX } = await import('../helpers/cli.js');
  const scratch = withDatabase(fx.stagingUrl, 'postgres');
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'backup', 'verify', 'latest', '--env', 'production', '--scratch-url', scratch], {
    cwd: fx.dir,
    env: { ...process.env, ...fx.env },
    stdio: 'ignore',
  });
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  let name: string | null = null;
  for (let i = 0; i < 1500 && !name && child.exitCode === null; i++) {
    const rows = await sql<{ d: string }>(scratch, `SELECT datname AS d FROM pg_database WHERE datname LIKE 'prodguard\\_verify\\_%' AND shobj_description(oid, 'pg_database') LIKE 'prodguard backup verify: pid %'`);
    if (rows.length) name = rows[0].d;
    else await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await exited;
  assert.ok(name, 'the verify created its scratch database before it was killed');
  await sql(fx.prodUrl, `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rfr_reader') THEN CREATE ROLE rfr_reader LOGIN; END IF; END $$`);
  assert.deepEqual(await sql(scratch, `SELECT has_database_privilege('rfr_reader', $1, 'CONNECT') AS can`, [name]), [{ can: false }], 'PUBLIC may not connect to the scratch copy');
  const list = await runCli(['backup', 'list', '--leftovers'], { cwd: fx.dir, env: fx.env });
  assert.match(list.stdout, new RegExp(`database +staging:${name} +LEFTOVER of a killed backup verify --scratch-url \\(restored backup: UNMASKED rows\\)`), list.stdout + list.stderr);
  const pr = await runCli(['backup', 'prune', '--yes', '--json'], { cwd: fx.dir, env: fx.env });
  assert.equal(pr.code, 0, pr.stderr);
  assert.ok((JSON.parse(pr.stdout).databaseLeftovers as string[]).includes(`staging:${name}`), pr.stdout);
  assert.deepEqual(await sql(scratch, `SELECT datname FROM pg_database WHERE datname = $1`, [name]), []);
});
