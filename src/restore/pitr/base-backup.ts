/**
 * `prodguard pitr base-backup`: pg_basebackup in tar format (-X fetch, so every base backup is
 * consistent on its own), then each file encrypted and checksummed into the PITR store and a
 * manifest with the start/stop LSN and times written last. The scheduler runs this on
 * config.pitr.baseBackupSchedule.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from '../../context.js';
import { connectionUrl } from '../../config/connection.js';
import { runPgTool } from '../../pg/run-tool.js';
import { toolConn } from '../../pg/tool-conn.js';
import { withClient } from '../../pg/client.js';
import { RefusedError, errorMessage } from '../../errors.js';
import { encryptionSettings } from './crypto.js';
import { authorisePitrDestinations } from './authorise.js';
import { openPitrStore, type BaseBackupManifest, type StoredFileRef } from './store.js';
import { parseLsn, segNoOfLsn, segmentName } from './wal.js';

export async function createBaseBackup(ctx: Context, envName: string, env: Record<string, string | undefined> = process.env): Promise<BaseBackupManifest> {
  const { loaded } = ctx;
  const enc = encryptionSettings(loaded);
  const url = connectionUrl(loaded, envName, env);
  try {
    // Production's cluster goes only where the signed policy says (w5c-043): before the store opens.
    await authorisePitrDestinations(ctx, envName, url);
  } catch (err) {
    await ctx.audit({ action: 'pitr.base-backup', command: `prodguard pitr base-backup --env ${envName}`, target: envName, verdict: 'refused', reason: errorMessage(err) });
    throw err;
  }
  const store = await openPitrStore(loaded, envName, enc);
  const info = await withClient(url, async (c) => {
    const r = await c.query<{ v: string; sysid: string; seg: string }>(
      `SELECT current_setting('server_version') AS v, (SELECT system_identifier::text FROM pg_control_system()) AS sysid,
              (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size') AS seg`,
    );
    return r.rows[0];
  });
  const startedAt = new Date();
  const id = `base-${startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${process.pid}`;
  const work = mkdtempSync(join(tmpdir(), 'prodguard-basebackup-'));
  try {
    try {
      const tc = toolConn(url);
      await runPgTool('pg_basebackup', ['-d', tc.conn, '-D', work, '-Ft', '-X', 'fetch', '-c', 'fast', '--no-sync', '-l', `prodguard ${id}`], { env: tc.env });
    } catch (err) {
      throw new RefusedError(`pg_basebackup of ${envName} failed: ${errorMessage(err)}`, 'pitr.basebackup-failed', err);
    }
    const finishedAt = new Date();
    const pgManifest = JSON.parse(readFileSync(join(work, 'backup_manifest'), 'utf8')) as { 'WAL-Ranges': Array<{ Timeline: number; 'Start-LSN': string; 'End-LSN': string }> };
    const range = pgManifest['WAL-Ranges'][0];
    const segSize = Number(info.seg);
    const files: StoredFileRef[] = [];
    for (const f of readdirSync(work).sort()) files.push(await store.putBaseFile(id, join(work, f), f));
    const manifest: BaseBackupManifest = {
      id,
      environment: envName,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      startLsn: range['Start-LSN'],
      stopLsn: range['End-LSN'],
      timeline: range.Timeline,
      startSegment: segmentName(range.Timeline, segNoOfLsn(parseLsn(range['Start-LSN']), segSize), segSize),
      walSegmentSize: segSize,
      serverVersion: info.v,
      systemIdentifier: info.sysid,
      files,
    };
    await store.commitBase(manifest);
    await ctx.audit({
      action: 'pitr.base-backup',
      command: `prodguard pitr base-backup --env ${envName}`,
      target: envName,
      verdict: 'ok',
      reason: `base backup ${id} (${manifest.startLsn} → ${manifest.stopLsn}, ${files.reduce((n, f) => n + f.size, 0)} bytes)`,
      details: { id, startLsn: manifest.startLsn, stopLsn: manifest.stopLsn },
    });
    return manifest;
  } catch (err) {
    await ctx.audit({ action: 'pitr.base-backup', command: `prodguard pitr base-backup --env ${envName}`, target: envName, verdict: 'failed', reason: errorMessage(err) });
    throw err;
  } finally {
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
    await store.close();
  }
}
