/**
 * `prodguard lockdown`: installs the last line of defence into the database itself — roles,
 * revokes, an event trigger refusing DROP/ALTER and BEFORE TRUNCATE triggers, all lifted only
 * for a session carrying a valid deploy or break-glass token — and checks it is still there.
 *
 * The status reads the catalog, not anything prodguard wrote down, and compares function bodies
 * with the hashes recorded at apply time in the state store: a dropped or disabled trigger, an
 * edited guard function or a table without its TRUNCATE trigger shows as tampered.
 */
import type { StateStore } from '../store/store.js';
import { connect } from '../pg/client.js';
import { installPlan, removePlan, readSqlFile, type LockdownSettings, type PlannedFile } from './sql-files.js';
import { ProdguardError, errorMessage } from '../errors.js';

export const LOCKDOWN_COLLECTION = 'lockdown';
const EVENT_TRIGGERS = ['prodguard_ddl_guard', 'prodguard_drop_guard', 'prodguard_protect_new_tables'];

export interface LockdownRecord {
  env: string;
  appliedAt: string;
  appliedBy: string;
  functions: Record<string, string>;
  settings: LockdownSettings;
  /**
   * The settings of the roles lockdown names (ALTER ROLE … SET, per role and per database), as
   * applied. A role may change its own settings without any token — event triggers do not fire
   * for roles, which are shared objects — so `status` compares instead (red-team gw-204/205/363:
   * `ALTER ROLE app_rw SET default_transaction_read_only = on` by the app role itself).
   */
  roleSettings?: Record<string, string>;
}

export interface LockdownStatus {
  state: 'intact' | 'tampered' | 'absent';
  problems: string[];
  unprotectedTables: string[];
  appliedAt: string | null;
}

interface Observed {
  event_triggers: Array<{ name: string; enabled: string; function: string }> | null;
  functions: Record<string, string> | null;
  unprotected_tables: string[] | null;
  roles: string[] | null;
  /** Per role lockdown names, its ALTER ROLE … SET settings ('' when none). */
  role_settings: Record<string, string> | null;
}

/** What is installed now, role settings included: one connection, one statement (status.sql). Null when lockdown is absent. */
async function observe(url: string, s: LockdownSettings): Promise<Observed | null> {
  const c = await connect(url);
  try {
    const row = (await c.query(readSqlFile('status.sql'), [s.schemas, [s.readOnlyRole, s.deployerRole], [...s.applicationRoles, s.readOnlyRole, s.deployerRole]])).rows[0] as Observed & { present: boolean };
    return row.present ? row : null;
  } finally {
    await c.end();
  }
}

export function planLockdown(s: LockdownSettings): PlannedFile[] {
  return installPlan(s);
}

/** Runs the whole install in one transaction (all or nothing) and records what was installed. */
export async function applyLockdown(url: string, store: StateStore, env: string, s: LockdownSettings, appliedBy: string): Promise<LockdownRecord> {
  const c = await connect(url);
  try {
    await c.query('BEGIN');
    for (const f of installPlan(s)) {
      try {
        await c.query(f.sql);
      } catch (err) {
        throw new ProdguardError(`lockdown ${f.file} failed: ${errorMessage(err)}`, { code: 'lockdown.apply', cause: err });
      }
    }
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await c.end();
  }
  const seen = await observe(url, s);
  const record: LockdownRecord = { env, appliedAt: new Date().toISOString(), appliedBy, functions: seen?.functions ?? {}, settings: s, roleSettings: seen?.role_settings ?? {} };
  await store.put(LOCKDOWN_COLLECTION, env, record);
  return record;
}

export async function lockdownStatus(url: string, store: StateStore, env: string, s: LockdownSettings): Promise<LockdownStatus> {
  const record = await store.get<LockdownRecord>(LOCKDOWN_COLLECTION, env);
  const seen = await observe(url, s);
  if (!seen) {
    return record
      ? { state: 'tampered', problems: [`lockdown was applied ${record.appliedAt} but the prodguard schema is gone`], unprotectedTables: [], appliedAt: record.appliedAt }
      : { state: 'absent', problems: [], unprotectedTables: [], appliedAt: null };
  }
  const problems: string[] = [];
  const triggers = new Map((seen.event_triggers ?? []).map((t) => [t.name, t]));
  for (const name of EVENT_TRIGGERS) {
    const t = triggers.get(name);
    if (!t) problems.push(`event trigger ${name} is missing`);
    else if (t.enabled === 'D') problems.push(`event trigger ${name} is disabled`);
  }
  if (!record) problems.push('lockdown objects exist but prodguard has no record of applying them here (apply again to record them)');
  else {
    for (const [fn, hash] of Object.entries(record.functions)) {
      const now = seen.functions?.[fn];
      if (!now) problems.push(`function prodguard.${fn} is missing`);
      else if (now !== hash) problems.push(`function prodguard.${fn} was changed since lockdown apply`);
    }
  }
  if (record?.roleSettings) {
    const now = seen.role_settings ?? {};
    for (const [role, was] of Object.entries(record.roleSettings)) {
      if (now[role] !== undefined && now[role] !== was) problems.push(`role ${role}'s settings changed since lockdown apply (${was || 'none'} → ${now[role] || 'none'}): ALTER ROLE … SET needs no token, so it is checked here`);
    }
  }
  const unprotected = seen.unprotected_tables ?? [];
  if (unprotected.length) problems.push(`${unprotected.length} table(s) without an enabled TRUNCATE guard: ${unprotected.slice(0, 5).join(', ')}${unprotected.length > 5 ? ', …' : ''}`);
  for (const r of [s.readOnlyRole, s.deployerRole]) if (!(seen.roles ?? []).includes(r)) problems.push(`role ${r} is missing`);
  const absent = !record && problems.length && !(seen.event_triggers ?? []).length;
  return { state: absent ? 'absent' : problems.length ? 'tampered' : 'intact', problems, unprotectedTables: unprotected, appliedAt: record?.appliedAt ?? null };
}

export async function removeLockdown(url: string, store: StateStore, env: string): Promise<void> {
  const c = await connect(url);
  try {
    await c.query('BEGIN');
    for (const f of removePlan()) await c.query(f.sql);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw new ProdguardError(`lockdown remove failed: ${errorMessage(err)}`, { code: 'lockdown.remove', cause: err });
  } finally {
    await c.end();
  }
  await store.delete(LOCKDOWN_COLLECTION, env);
}

/** Issues a token in the database (prodguard.issue_token); the caller SETs prodguard.token to it. */
export async function issueLockdownToken(url: string, t: { kind: 'deploy' | 'break-glass'; ttlMs: number; person: string; reason: string }): Promise<{ token: string; expiresAt: string }> {
  const c = await connect(url);
  try {
    const r = await c.query(`SELECT prodguard.issue_token($1, make_interval(secs => $2::double precision / 1000), $3, $4) AS token, clock_timestamp() + make_interval(secs => $2::double precision / 1000) AS expires`, [t.kind, t.ttlMs, t.person, t.reason]);
    return { token: r.rows[0].token as string, expiresAt: new Date(r.rows[0].expires as string).toISOString() };
  } catch (err) {
    throw new ProdguardError(`cannot issue a lockdown token: ${errorMessage(err)}`, { code: 'lockdown.token', cause: err });
  } finally {
    await c.end();
  }
}
