/**
 * `prodguard pitr enable`: turns on continuous WAL archiving for an environment.
 *
 * archive-command: ALTER SYSTEM sets archive_mode=on and an archive_command that runs
 *   `prodguard pitr archive-wal %p %f`. archive_mode only changes on a server restart; the command
 *   says so. Segments are shipped when full (or on archive_timeout / pg_switch_wal): the RPO is up
 *   to one segment or archive_timeout.
 * streaming: a physical replication slot for `prodguard pitr stream` (pg_receivewal), which receives
 *   WAL as it is written (sub-second RPO) and ships completed segments. No restart needed, but the
 *   slot makes the server keep WAL while the receiver is down: watch disk space.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { Context } from '../../context.js';
import { connectionUrl } from '../../config/connection.js';
import { withClient, quoteLiteral } from '../../pg/client.js';
import { chownForServer, serverOsUser } from '../../pg/cluster.js';
import { RefusedError, errorMessage } from '../../errors.js';
import { authorisePitrDestinations } from './authorise.js';
import { durationMs } from '../../config/schema.js';
import { encryptionSettings } from './crypto.js';
import { pitrStoreDir } from './store.js';
import { prodguardCommand, shellQuote } from './self-command.js';

export const STATE_COLLECTION = 'pitr';

export function slotName(envName: string): string {
  return `prodguard_${envName.replace(/[^a-z0-9_]/g, '_')}`;
}

export interface EnableResult {
  environment: string;
  method: 'archive-command' | 'streaming';
  store: string;
  archiveCommand?: string;
  slot?: string;
  restartRequired: boolean;
  changed: string[];
  /** archive_timeout now in force on the server, seconds (archive-command). */
  archiveTimeoutSeconds?: number;
  /** The recovery point objective this gives, in words. */
  rpo: string;
}

export function archiveCommandFor(ctx: Context, envName: string): string {
  const argv = [...prodguardCommand(), '-c', ctx.loaded.file, 'pitr', 'archive-wal', '%p', '%f', '--env', envName];
  return argv.map((a) => (a === '%p' || a === '%f' ? a : shellQuote(a))).join(' ');
}

/** As root the server runs as `postgres`; it must be able to read the config and write the store. */
function checkServerUserAccess(paths: { read: string[]; write: string[] }) {
  const user = serverOsUser();
  if (!user) return;
  for (const p of paths.read) {
    if (spawnSync('runuser', ['-u', user, '--', 'test', '-r', p]).status !== 0) {
      throw new RefusedError(`the PostgreSQL OS user "${user}" cannot read ${p}; archive_command runs as that user (make the project directory readable to it)`, 'pitr.permissions');
    }
  }
  for (const p of paths.write) {
    if (spawnSync('runuser', ['-u', user, '--', 'test', '-w', p]).status !== 0) {
      throw new RefusedError(`the PostgreSQL OS user "${user}" cannot write ${p}`, 'pitr.permissions');
    }
  }
}

export async function enablePitr(ctx: Context, envName: string, env: Record<string, string | undefined> = process.env): Promise<EnableResult> {
  const { loaded } = ctx;
  const method = loaded.config.pitr.method;
  encryptionSettings(loaded); // refuses early without recipients
  const url = connectionUrl(loaded, envName, env);
  try {
    // What PITR will write goes only where the signed policy says (w5c-043): before anything changes.
    await authorisePitrDestinations(ctx, envName, url);
  } catch (err) {
    await ctx.audit({ action: 'pitr.enable', command: `prodguard pitr enable --env ${envName}`, target: envName, verdict: 'refused', reason: errorMessage(err) });
    throw err;
  }
  const store = pitrStoreDir(loaded, envName);
  mkdirSync(store, { recursive: true });
  const changed: string[] = [];

  const result = await withClient(url, async (c) => {
    const setting = async (name: string) => (await c.query<{ setting: string }>('SELECT setting FROM pg_settings WHERE name = $1', [name])).rows[0]?.setting ?? '';
    const walLevel = await setting('wal_level');
    if (walLevel === 'minimal') {
      await c.query(`ALTER SYSTEM SET wal_level = 'replica'`);
      changed.push('wal_level=replica');
    }
    if (method === 'archive-command') {
      chownForServer(store);
      const cmd = archiveCommandFor(ctx, envName);
      checkServerUserAccess({ read: [loaded.file], write: [store] });
      const archiveMode = await setting('archive_mode');
      if (archiveMode === 'off') {
        await c.query(`ALTER SYSTEM SET archive_mode = 'on'`);
        changed.push('archive_mode=on');
      }
      await c.query(`ALTER SYSTEM SET archive_command = ${quoteLiteral(cmd)}`);
      changed.push('archive_command');
      // Without archive_timeout a quiet server can keep a commit unarchived for hours (until the
      // segment fills): archive_timeout bounds the RPO.
      const timeoutS = Math.max(1, Math.round(durationMs(loaded.config.pitr.archiveTimeout) / 1000));
      if (Number(await setting('archive_timeout')) !== timeoutS) {
        await c.query(`ALTER SYSTEM SET archive_timeout = ${quoteLiteral(`${timeoutS}s`)}`);
        changed.push(`archive_timeout=${timeoutS}s`);
      }
      await c.query('SELECT pg_reload_conf()');
      return { archiveCommand: cmd, restartRequired: archiveMode === 'off' || walLevel === 'minimal', archiveTimeoutSeconds: timeoutS, rpo: `at most ${timeoutS} s of commits (archive_timeout), less on a busy server` };
    }
    const slot = slotName(envName);
    const senders = Number(await setting('max_wal_senders'));
    if (!(senders > 0)) throw new RefusedError('streaming needs max_wal_senders > 0 on the server', 'pitr.no-wal-senders');
    const exists = await c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    if (exists.rowCount === 0) {
      await c.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
      changed.push(`replication slot ${slot}`);
    }
    await c.query('SELECT pg_reload_conf()');
    return { slot, restartRequired: walLevel === 'minimal', rpo: 'sub-second while `prodguard pitr stream` runs (WAL flushed on receipt)' };
  });

  const out: EnableResult = { environment: envName, method, store, changed, ...result };
  await (await ctx.store()).put(STATE_COLLECTION, envName, { environment: envName, method, enabledAt: new Date().toISOString(), slot: out.slot ?? null });
  await ctx.audit({
    action: 'pitr.enable',
    command: `prodguard pitr enable --env ${envName}`,
    target: envName,
    verdict: 'ok',
    reason: `${method} WAL archiving into ${store}; RPO ${out.rpo}${out.restartRequired ? '; restart PostgreSQL to activate archive_mode' : ''}`,
    details: { changed, restartRequired: out.restartRequired },
  });
  return out;
}
