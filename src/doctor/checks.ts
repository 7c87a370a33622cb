/**
 * `prodguard doctor`: is this installation able to do its job end to end? Each check says what
 * it found and, when something is wrong, the fix. Checks touch the real things — they run the
 * binaries, connect with the configured credentials, write and delete a probe object on every
 * destination — because a config that merely looks right is how backups silently stop.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Context } from '../context.js';
import { maskSecrets } from '../security/mask.js';
import { errorMessage } from '../errors.js';
import { pgBin } from '../pg/binaries.js';
import { tryConnectionUrl } from '../config/connection.js';
import { connect } from '../pg/client.js';
import { describeMissing, missingVariables } from '../config/missing-variables.js';
import { findIdentity } from '../backup/encryption.js';
import { identityToRecipient } from 'age-encryption';
import { auditChainStatus } from '../server/http/pages.js';

const run = promisify(execFile);

export type DoctorState = 'ok' | 'warn' | 'fail';

export interface DoctorResult {
  id: string;
  title: string;
  state: DoctorState;
  detail: string;
  fix?: string;
}

const r = (id: string, title: string, state: DoctorState, detail: string, fix?: string): DoctorResult => ({ id, title, state, detail: maskSecrets(detail), ...(fix ? { fix } : {}) });

/** Clock skew beyond this between this machine and a database is a warning; 10x is a failure. */
export const SKEW_WARN_MS = 5_000;

export function nodeCheck(version = process.versions.node): DoctorResult {
  const major = Number(version.split('.')[0]);
  return major >= 20 ? r('node', 'Node.js', 'ok', `v${version}`) : r('node', 'Node.js', 'fail', `v${version} is too old`, 'install Node.js 20 or newer');
}

const PROGRAMS: Array<{ program: import('../pg/binaries.js').PgProgram; why: string; required: boolean }> = [
  { program: 'pg_dump', why: 'backups', required: true },
  { program: 'pg_restore', why: 'restores and verification', required: true },
  { program: 'psql', why: 'guarded commands and debugging', required: false },
  { program: 'initdb', why: 'throw-away clusters for verification and drills', required: true },
  { program: 'pg_ctl', why: 'throw-away clusters for verification and drills', required: true },
  { program: 'pg_basebackup', why: 'PITR base backups', required: false },
  { program: 'pg_receivewal', why: 'PITR WAL streaming', required: false },
];

export async function binaryChecks(): Promise<{ results: DoctorResult[]; pgDumpMajor: number | null }> {
  const results: DoctorResult[] = [];
  let pgDumpMajor: number | null = null;
  for (const p of PROGRAMS) {
    try {
      const bin = pgBin(p.program);
      const { stdout } = await run(bin, ['--version'], { timeout: 10_000 });
      const version = stdout.trim();
      if (p.program === 'pg_dump') pgDumpMajor = Number(/(\d+)(\.\d+)?/.exec(version)?.[1] ?? NaN) || null;
      results.push(r(`bin.${p.program}`, p.program, 'ok', `${version} (${bin})`));
    } catch (err) {
      results.push(r(`bin.${p.program}`, p.program, p.required ? 'fail' : 'warn', `not found or not runnable (needed for ${p.why}): ${errorMessage(err).split('\n')[0]}`,
        'install the PostgreSQL client and server tools (Debian/Ubuntu: apt-get install postgresql postgresql-client) or set PG_BIN to their directory'));
    }
  }
  return { results, pgDumpMajor };
}

/** Connects to every environment with its configured URL; compares versions and clocks. */
export async function environmentChecks(ctx: Context, pgDumpMajor: number | null, env: Record<string, string | undefined> = process.env): Promise<DoctorResult[]> {
  const out: DoctorResult[] = [];
  for (const [name, e] of Object.entries(ctx.loaded.config.environments)) {
    const id = `env.${name}`;
    const title = `environment ${name} (${e.kind})`;
    const url = tryConnectionUrl(ctx.loaded, name, env);
    if (!url) {
      const where = e.urlEnv ? `$${e.urlEnv}` : e.urlFile ? e.urlFile : 'urlEnv/urlFile';
      out.push(r(id, title, e.kind === 'production' ? 'fail' : 'warn', `no connection URL (${where} is not set)`, `set ${where} to the ${name} connection URL on this machine`));
      continue;
    }
    let client;
    try {
      client = await connect(url, { applicationName: 'prodguard doctor' });
      const t0 = Date.now();
      const row = (await client.query<{ v: string; num: string; now: Date }>("SELECT version() AS v, current_setting('server_version_num') AS num, now() AS now")).rows[0];
      const t1 = Date.now();
      // now() is the transaction start, taken between t0 and t1: compare with the midpoint.
      const skew = row.now.getTime() - (t0 + t1) / 2;
      const serverMajor = Math.floor(Number(row.num) / 10000);
      const problems: string[] = [];
      let state: DoctorState = 'ok';
      let fix: string | undefined;
      if (Math.abs(skew) > SKEW_WARN_MS) {
        state = Math.abs(skew) > SKEW_WARN_MS * 10 ? 'fail' : 'warn';
        problems.push(`clock differs from the database by ${(skew / 1000).toFixed(1)} s`);
        fix = 'synchronise this machine\'s clock (e.g. systemd-timesyncd or chrony); backup ages, approvals and grants depend on it';
      }
      if (pgDumpMajor !== null && serverMajor > pgDumpMajor) {
        state = 'fail';
        problems.push(`server is PostgreSQL ${serverMajor} but pg_dump is ${pgDumpMajor}: pg_dump refuses newer servers`);
        fix = `install PostgreSQL ${serverMajor} client tools`;
      }
      out.push(r(id, title, state, `connected: PostgreSQL ${row.v.split(' ')[1]}; clock skew ${(skew / 1000).toFixed(2)} s${problems.length ? '; ' + problems.join('; ') : ''}`, fix));
    } catch (err) {
      out.push(r(id, title, e.kind === 'local' ? 'warn' : 'fail', `cannot connect: ${errorMessage(err)}`, 'check the URL, the network path and the credentials (the password in the URL variable)'));
    } finally {
      await client?.end().catch(() => {});
    }
  }
  return out;
}

/** Writes, reads back and deletes a probe object on every destination. */
export async function destinationChecks(ctx: Context, env: Record<string, string | undefined> = process.env): Promise<DoctorResult[]> {
  const { openDestinations, closeDestinations } = await import('../backup/destinations/index.js');
  if (!ctx.loaded.config.backup.destinations.length) {
    return [r('dest', 'backup destinations', 'fail', 'none configured', 'add two independent destinations to backup.destinations (e.g. a local disk and S3-compatible storage)')];
  }
  let dests;
  try {
    dests = openDestinations(ctx.loaded, env);
  } catch (err) {
    // Name every unset variable of every destination at once, not only the first one that failed.
    const missing = missingVariables(ctx.loaded.config, env).filter((m) => m.for.startsWith('destination'));
    if (missing.length) return [r('dest', 'backup destinations', 'fail', `not set: ${describeMissing(missing)}`, `set ${missing.map((m) => m.name).join(', ')} where backups run`)];
    return [r('dest', 'backup destinations', 'fail', errorMessage(err), 'fix backup.destinations in prodguard.yaml')];
  }
  const out: DoctorResult[] = [];
  try {
    for (const d of dests) {
      const key = `.prodguard-doctor/probe-${randomBytes(6).toString('hex')}`;
      const body = randomBytes(32);
      try {
        await d.putBytes(key, body);
        const back = await d.getBytes(key);
        await d.delete(key);
        if (!back || !back.equals(body)) throw new Error('the probe object read back differs from what was written');
        out.push(r(`dest.${d.name}`, `destination ${d.name} (${d.kind})`, 'ok', `writable, readable and deletable: ${d.location}`));
      } catch (err) {
        out.push(r(`dest.${d.name}`, `destination ${d.name} (${d.kind})`, 'fail', `${d.location}: ${errorMessage(err)}`,
          d.kind === 's3' ? 'check the bucket, endpoint and the access key variables; the key needs put, get, list and delete' : 'check that the directory exists and this user can write to it'));
      }
    }
  } finally {
    await closeDestinations(dests);
  }
  return out;
}

/** The age identity must be readable and must match a configured recipient, or no backup can be verified or restored. */
export async function keyChecks(ctx: Context, env: Record<string, string | undefined> = process.env): Promise<DoctorResult[]> {
  const enc = ctx.loaded.config.backup.encryption;
  if (enc.noEncrypt) return [r('keys', 'backup encryption keys', 'warn', 'backups are not encrypted (backup.encryption.noEncrypt)', 'make a key pair with `prodguard backup keygen` and list the public key in backup.encryption.recipients')];
  if (!enc.recipients.length) return [r('keys', 'backup encryption keys', 'fail', 'no recipients in backup.encryption.recipients', 'make a key pair with `prodguard backup keygen` and add the public key')];
  const id = findIdentity(ctx.loaded, env);
  const where = enc.identityFile ? `$${enc.identityEnv} or ${enc.identityFile}` : `$${enc.identityEnv}`;
  if (!id) return [r('keys', 'backup encryption keys', 'fail', `no age identity readable from ${where}: backups cannot be verified or restored here`, `provide the identity in ${where} (keep it off the machines that only write backups if you prefer, but then run verify elsewhere)`)];
  try {
    const recipient = await identityToRecipient(id);
    if (!enc.recipients.includes(recipient)) {
      return [r('keys', 'backup encryption keys', 'fail', `the identity in ${where} belongs to ${recipient.slice(0, 16)}…, which is not among backup.encryption.recipients`, 'use the identity of a listed recipient, or add its public key to the recipients')];
    }
    return [r('keys', 'backup encryption keys', 'ok', `identity from ${where} matches recipient ${recipient.slice(0, 16)}… (${enc.recipients.length} recipient(s))`)];
  } catch (err) {
    return [r('keys', 'backup encryption keys', 'fail', `the identity in ${where} is not a valid age X25519 identity (${errorMessage(err)})`, 'regenerate with `prodguard backup keygen`')];
  }
}

export function hookChecks(ctx: Context): DoctorResult[] {
  const root = ctx.loaded.root;
  const out: DoctorResult[] = [];
  const claude = join(root, '.claude', 'settings.json');
  const hasClaude = existsSync(claude) && readFileSync(claude, 'utf8').includes('prodguard hook claude-code');
  out.push(hasClaude ? r('hooks.claude-code', 'Claude Code guard hook', 'ok', claude) : r('hooks.claude-code', 'Claude Code guard hook', 'warn', 'not installed in this project', 'run `prodguard install claude-code`'));
  const prePush = join(root, '.git', 'hooks', 'pre-push');
  const hasPush = existsSync(prePush) && readFileSync(prePush, 'utf8').includes('prodguard');
  out.push(hasPush ? r('hooks.git', 'git pre-push check', 'ok', prePush) : r('hooks.git', 'git pre-push check', 'warn', existsSync(join(root, '.git')) ? 'not installed' : 'not a git checkout', 'run `prodguard install git-hooks`'));
  return out;
}

export async function stateChecks(ctx: Context): Promise<DoctorResult[]> {
  const out: DoctorResult[] = [];
  try {
    const store = await ctx.store();
    out.push(r('store', 'state store', 'ok', `${store.kind}: ${store.location}`));
  } catch (err) {
    return [r('store', 'state store', 'fail', errorMessage(err), 'check state.path / state.urlEnv and permissions')];
  }
  const chain = await auditChainStatus(ctx);
  out.push(chain.ok ? r('audit', 'audit log', 'ok', `${chain.records} records, hash chain intact`) : r('audit', 'audit log', 'fail', `tampered: ${chain.problems[0]}`, 'run `prodguard audit verify` and investigate before anything else'));
  return out;
}

export async function runDoctor(ctx: Context, env: Record<string, string | undefined> = process.env): Promise<{ ok: boolean; results: DoctorResult[] }> {
  const bins = await binaryChecks();
  const results = [
    nodeCheck(),
    ...bins.results,
    ...(await stateChecks(ctx)),
    ...(await environmentChecks(ctx, bins.pgDumpMajor, env)),
    ...(await destinationChecks(ctx, env)),
    ...(await keyChecks(ctx, env)),
    ...hookChecks(ctx),
  ];
  return { ok: results.every((x) => x.state !== 'fail'), results };
}
