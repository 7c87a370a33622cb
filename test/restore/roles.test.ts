/**
 * Restores onto servers that lack the source's roles (issue #15 item 2): the source database's
 * RLS policies, grants and default privileges name custom roles (app_rw, app_ro) and
 * Supabase-style roles (anon, authenticated, service_role); it has database- and role-level
 * settings, database grants and a comment. restore, drill and verify bring all of it; the roles
 * they create are NOLOGIN without password; a failed restore removes what it created so a retry
 * with the same name works.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { runCli, makeProject, minimalConfig } from '../helpers/cli.js';
import { sharedCluster, sql, createDatabase } from '../helpers/pg.js';
import { contextFrom } from '../../src/context.js';
import { loadConfig } from '../../src/config/load.js';
import { createBackup } from '../../src/backup/create.js';
import { ensureRoles, parseDatabaseAcl, parseDatabaseProperties, rolesFromGlobals, rolesNamedInDump, rolesOnlyProperties } from '../../src/restore/roles.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pgBin } from '../../src/pg/binaries.js';

const source = sharedCluster({ name: 'prodguard-roles-src', settings: { max_connections: 100, shared_buffers: '128MB' } });
const target = sharedCluster({ name: 'prodguard-roles-dst' });

const APP_SQL = `
CREATE TABLE notes (id int PRIMARY KEY, owner text NOT NULL, body text);
INSERT INTO notes SELECT g, CASE WHEN g % 2 = 0 THEN 'alice' ELSE 'bob' END, 'note ' || g FROM generate_series(1, 200) g;
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_notes ON notes FOR SELECT TO authenticated USING (owner = current_setting('request.jwt.claim.sub', true));
CREATE POLICY writers ON notes FOR ALL TO app_rw USING (true) WITH CHECK (true);
CREATE POLICY service ON notes TO service_role USING (true);
GRANT SELECT ON notes TO anon, app_ro;
GRANT SELECT, INSERT, UPDATE ON notes TO authenticated, app_rw;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO authenticated;
`;

test('globals and database ACL parsing', () => {
  assert.deepEqual(rolesFromGlobals('CREATE ROLE anon;\nALTER ROLE anon WITH NOLOGIN;\nCREATE ROLE "Mixed";\nCREATE ROLE pg_x;\nGRANT anon TO "Mixed" WITH INHERIT TRUE GRANTED BY postgres;\n'), [
    { name: 'anon', memberOf: [], settings: [] },
    { name: 'Mixed', memberOf: ['anon'], settings: [] },
  ]);
  assert.deepEqual(parseDatabaseAcl('{=Tc/postgres,postgres=CTc/postgres,app_ro=c*/postgres,"\\"we ird\\"=C/postgres"}'), [
    { grantee: null, privileges: ['TEMPORARY', 'CONNECT'], grantOption: [] },
    { grantee: 'postgres', privileges: ['CREATE', 'TEMPORARY', 'CONNECT'], grantOption: [] },
    { grantee: 'app_ro', privileges: [], grantOption: ['CONNECT'] },
    { grantee: 'we ird', privileges: ['CREATE'], grantOption: [] },
  ]);
});

test('restore, drill and verify onto servers without the source roles', async (t) => {
  const src = source();
  const dst = target();
  await sql(src.url(), `CREATE ROLE app_rw NOLOGIN; CREATE ROLE app_ro NOLOGIN; CREATE ROLE anon NOLOGIN; CREATE ROLE authenticated NOLOGIN;
    CREATE ROLE service_role NOLOGIN BYPASSRLS; CREATE ROLE authenticator LOGIN PASSWORD 'authpw' NOINHERIT;
    GRANT anon, authenticated, service_role TO authenticator; GRANT app_ro TO app_rw;
    ALTER ROLE authenticated SET statement_timeout = '8s'`);
  const app = await createDatabase(src, 'app');
  await sql(app, APP_SQL);
  await sql(src.url(), `ALTER DATABASE app SET statement_timeout = '7s'; ALTER DATABASE app SET app.settings.jwt_secret = 'super-secret-jwt';
    ALTER ROLE anon IN DATABASE app SET search_path = public, extensions;
    REVOKE ALL ON DATABASE app FROM PUBLIC; GRANT CONNECT ON DATABASE app TO app_ro, authenticator; GRANT CREATE ON DATABASE app TO app_rw;
    COMMENT ON DATABASE app IS 'the application database'`);

  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  const p = makeProject({ 'prodguard.yaml': minimalConfig(`backup:\n  encryption:\n    recipients: [${recipient}]\n  destinations:\n    - { name: local, type: local, path: backups }\n`) });
  t.after(p.cleanup);
  const env = { PRODUCTION_DATABASE_URL: app, STAGING_DATABASE_URL: dst.url('postgres'), LOCAL_DATABASE_URL: dst.url('postgres'), PRODGUARD_AGE_IDENTITY: identity };
  Object.assign(process.env, env);
  const ctx = contextFrom(loadConfig({ cwd: p.dir }));
  await createBackup(ctx, { env: 'production', reason: 'test' });
  await ctx.close();
  const cli = (args: string[]) => runCli(args, { cwd: p.dir, env });
  const customRoles = ['anon', 'app_ro', 'app_rw', 'authenticated', 'authenticator', 'service_role'];
  const rolesOn = async (url: string) =>
    (await sql<{ r: string }>(url, `SELECT rolname AS r FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1`, [customRoles])).map((x) => x.r);

  await t.test('a failed restore removes the database and the roles it created', async () => {
    // The target's template1 refuses CREATE POLICY, so pg_restore fails halfway through.
    const t1 = dst.url('template1');
    await sql(t1, `CREATE FUNCTION no_policies() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN IF tg_tag = 'CREATE POLICY' THEN RAISE EXCEPTION 'policies are not allowed here'; END IF; END $$;
      CREATE EVENT TRIGGER no_policies ON ddl_command_end EXECUTE FUNCTION no_policies()`);
    const r = await cli(['restore', 'latest', '--to', dst.url('postgres'), '--new-database', 'copy']);
    await sql(t1, 'DROP EVENT TRIGGER no_policies; DROP FUNCTION no_policies()');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /policies are not allowed here/);
    assert.deepEqual(await sql(dst.url(), `SELECT datname FROM pg_database WHERE datname = 'copy'`), [], 'no half-restored database is left');
    assert.deepEqual(await rolesOn(dst.url()), [], 'the roles it created are gone');
  });

  await t.test('restore creates the missing roles NOLOGIN without password and brings settings, grants and comment', async () => {
    const r = await cli(['restore', 'latest', '--to', dst.url('postgres'), '--new-database', 'copy', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual([...out.createdRoles].sort(), customRoles);
    assert.deepEqual(out.warnings, []);
    const roles = await sql<{ rolname: string; rolcanlogin: boolean; pw: boolean }>(dst.url(), `SELECT rolname, rolcanlogin, rolpassword IS NOT NULL AS pw FROM pg_authid WHERE rolname = ANY($1) ORDER BY 1`, [customRoles]);
    assert.deepEqual(roles.map((x) => [x.rolname, x.rolcanlogin, x.pw]), customRoles.map((n) => [n, false, false]));
    const copy = dst.url('copy');
    assert.deepEqual(
      (await sql<{ policyname: string; roles: string }>(copy, `SELECT policyname, roles::text FROM pg_policies ORDER BY 1`)).map((x) => [x.policyname, x.roles]),
      [['own_notes', '{authenticated}'], ['service', '{service_role}'], ['writers', '{app_rw}']],
    );
    const acl = (await sql<{ acl: string }>(copy, `SELECT relacl::text AS acl FROM pg_class WHERE relname = 'notes'`))[0].acl;
    for (const g of ['anon=r/', 'app_ro=r/', 'authenticated=arw/', 'app_rw=arw/']) assert.ok(acl.includes(g), `${g} in ${acl}`);
    // Membership among created roles, database and role settings, database grants and comment.
    assert.equal((await sql<{ ok: boolean }>(dst.url(), `SELECT pg_has_role('app_rw', 'app_ro', 'MEMBER') AS ok`))[0].ok, true);
    const settings = await sql<{ who: string; cfg: string }>(dst.url(), `SELECT coalesce(r.rolname, '-') || '@' || coalesce(d.datname, '*') AS who, s.setconfig::text AS cfg
      FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase ORDER BY 1`);
    assert.deepEqual(settings.map((x) => [x.who, x.cfg]), [
      ['-@copy', '{statement_timeout=7s,app.settings.jwt_secret=super-secret-jwt}'],
      ['anon@copy', '{"search_path=public, extensions"}'],
      ['authenticated@*', '{statement_timeout=8s}'],
    ]);
    const db = (await sql<{ acl: string; comment: string }>(dst.url(), `SELECT datacl::text AS acl, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = 'copy'`))[0];
    assert.equal(db.comment, 'the application database');
    assert.ok(!/(^|[{,])=/.test(db.acl), `PUBLIC has no CONNECT: ${db.acl}`);
    for (const g of ['app_ro=c/', 'authenticator=c/', 'app_rw=C/']) assert.ok(db.acl.includes(g), `${g} in ${db.acl}`);
  });

  await t.test('a drill on a database whose policies name custom roles passes and records RTO/RPO', async () => {
    const r = await cli(['drill', '--env', 'production', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout);
    assert.equal(d.ok, true, d.error);
    assert.ok(d.rtoMs > 0 && d.rpoMs > 0);
    assert.equal(d.tablesChecked, 1);
  });

  await t.test('verify restores with roles and ACLs', async () => {
    const r = await cli(['backup', 'verify', 'latest', '--env', 'production', '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(JSON.parse(r.stdout).ok, true, r.stdout);
  });

  await t.test('the roles come from the backup\'s database.json; without it (older backups), from the dump\'s ACL and POLICY entries', async () => {
    // Path 1: database.json, as a streamed restore and a staging refresh read it.
    const props = parseDatabaseProperties({ properties: JSON.stringify({ version: 1, database: 'app', owner: 'postgres', acl: null, comment: null, settings: [], roleSettings: [], roles: [{ name: 'rl_json_only', memberOf: [], settings: [] }] }), globals: null });
    assert.deepEqual(props?.roles.map((r) => r.name), ['rl_json_only']);
    assert.equal(parseDatabaseProperties({ properties: null, globals: null }), null);
    // Path 2: a plain pg_dump -Fd (no database.json, no globals): names from ACL/POLICY entries only.
    await sql(src.url(), `CREATE ROLE rl_fallback NOLOGIN`);
    await sql(app, `CREATE POLICY fallback_pol ON notes FOR SELECT TO rl_fallback USING (true)`);
    const work = mkdtempSync(join(tmpdir(), 'roles-fallback-'));
    t.after(() => rmSync(work, { recursive: true, force: true }));
    const dumped = spawnSync(pgBin('pg_dump'), ['-Fd', '-f', join(work, 'd'), `--dbname=${app}`], { encoding: 'utf8' });
    assert.equal(dumped.status, 0, dumped.stderr);
    const named = rolesNamedInDump(join(work, 'd'), work);
    for (const r of ['anon', 'app_ro', 'app_rw', 'authenticated', 'service_role', 'rl_fallback']) assert.ok(named.includes(r), `${r} in ${named.join(',')}`);
    assert.ok(!named.includes('authenticator'), 'a role no grant or policy names is not derived');
    const ensured = await ensureRoles(dst.url(), rolesOnlyProperties(named));
    assert.ok(ensured.created.includes('rl_fallback'), ensured.created.join(','));
    const made = await sql<{ rolcanlogin: boolean }>(dst.url(), `SELECT rolcanlogin FROM pg_roles WHERE rolname = 'rl_fallback'`);
    assert.deepEqual(made, [{ rolcanlogin: false }]);
    await sql(dst.url(), `DROP ROLE rl_fallback`);
    await sql(app, `DROP POLICY fallback_pol ON notes`);
    await sql(src.url(), `DROP ROLE rl_fallback`);
  });
});
