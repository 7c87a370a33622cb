/**
 * Demo chapter: a backup of the demo's production to two places (a local folder and a local
 * S3-compatible server), proven by restoring it into a throw-away cluster, then the catalog.
 * The demo framework normally configures both destinations and the age identity; when it has not,
 * this chapter sets them up itself (a key pair, a local folder, an s3rver on 127.0.0.1).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DemoChapter, DemoContext } from '../types.js';
import { errorMessage } from '../../errors.js';
import { createRequire } from 'node:module';
import { generateKeyPair } from '../../backup/encryption.js';
import { formatBytes } from '../../backup/progress.js';
import { humanDuration } from '../../status/units.js';
import { currentRunner, runJob } from '../../server/run-job.js';
import { backupJob } from '../../server/jobs.js';

async function startLocalS3(demo: DemoContext): Promise<{ port: number } | null> {
  try {
    const require = createRequire(import.meta.url);
    const S3rver = require('s3rver') as new (o: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void> };
    const dir = mkdtempSync(join(tmpdir(), 'prodguard-demo-s3-'));
    const server = new S3rver({ port: 0, address: '127.0.0.1', directory: dir, silent: true, configureBuckets: [{ name: 'backups' }] });
    const addr = await server.run();
    demo.onCleanup(async () => {
      await server.close();
      if (!demo.keep) rmSync(dir, { recursive: true, force: true });
    });
    return addr;
  } catch (err) {
    demo.say(`(no local S3 server available: ${errorMessage(err)}; backing up to the local folder only)`);
    return null;
  }
}

export const backupChapter: DemoChapter = {
  id: 'backup',
  title: 'Backups that are proven: scheduled, encrypted, in two places, verified by restore, drilled',
  async run(demo: DemoContext) {
    const { verifyBackup, listBackups } = await import('../../backup/index.js');
    const cfg = demo.ctx.loaded.config;
    const env = Object.entries(cfg.environments).find(([, e]) => e.kind === 'production')?.[0] ?? 'production';

    // Fill in what the demo config lacks: a key pair and two destinations.
    if (!cfg.backup.encryption.noEncrypt && cfg.backup.encryption.recipients.length === 0) {
      const k = await generateKeyPair();
      const idEnv = cfg.backup.encryption.identityEnv;
      demo.env[idEnv] = k.identity;
      process.env[idEnv] = k.identity;
      demo.showCommand('prodguard backup keygen --out ~/.config/prodguard/backup.key');
      demo.say(`  public key ${k.recipient} → backup.encryption.recipients; the private key stays in $${idEnv}`);
      await demo.updateConfig((raw) => {
        raw.backup = { ...(raw.backup ?? {}), encryption: { ...(raw.backup?.encryption ?? {}), recipients: [k.recipient] } };
      });
    }
    if (demo.ctx.loaded.config.backup.destinations.length === 0) {
      const s3 = await startLocalS3(demo);
      // A folder outside the project (a second disk, in a real project); removed with the demo.
      const disk = mkdtempSync(join(tmpdir(), 'prodguard-demo-disk-'));
      demo.onCleanup(() => {
        if (!demo.keep) rmSync(disk, { recursive: true, force: true });
      });
      const dests: Array<Record<string, unknown>> = [{ name: 'local-disk', type: 'local', path: join(disk, 'backups') }];
      if (s3) {
        demo.env.DEMO_S3_KEY = process.env.DEMO_S3_KEY = 'S3RVER';
        demo.env.DEMO_S3_SECRET = process.env.DEMO_S3_SECRET = 'S3RVER';
        dests.push({ name: 'offsite-s3', type: 's3', bucket: 'backups', prefix: 'prodguard', endpoint: `http://127.0.0.1:${s3.port}`, accessKeyIdEnv: 'DEMO_S3_KEY', secretAccessKeyEnv: 'DEMO_S3_SECRET' });
      }
      await demo.updateConfig((raw) => {
        raw.backup = { ...(raw.backup ?? {}), destinations: dests };
      });
    }
    const dests = demo.ctx.loaded.config.backup.destinations;
    const where = (d: { name: string; type: string; endpoint?: string }) =>
      d.type === 's3' && /127\.0\.0\.1|localhost/.test(d.endpoint ?? '')
        ? `${d.name} — a local S3 stand-in (s3rver on ${d.endpoint}); in your project, a bucket at another provider`
        : d.type === 'local'
          ? `${d.name} — a folder on this machine; in your project, another disk or host`
          : `${d.name} (${d.type})`;
    demo.say(`Rule 2: a daily backup, encrypted, in ${dests.length} places:`);
    for (const d of dests) demo.say(`  · ${where(d as { name: string; type: string; endpoint?: string })}`);

    // The daily backup is a scheduled job: `prodguard serve` runs it at schedules.backup, or the
    // scheduled CI workflow does (prodguard init ci --github). Here the same job runs once, now.
    const cron = demo.ctx.loaded.config.schedules.backup;
    demo.showCommand(`prodguard jobs run backup:${env}   # what prodguard serve runs at "${cron}" (cron) every day`);
    const run = await runJob(demo.ctx, backupJob(env, cron), { slot: new Date(), runner: currentRunner('cli') });
    if (run.result !== 'ok') throw new Error(`the scheduled backup failed: ${run.summary}`);
    const m = (await listBackups(demo.ctx, { env }))[0];
    demo.say(`  ${m.id}: ${formatBytes(m.objects.reduce((s, o) => s + o.bytes, 0))} from one snapshot (LSN ${m.lsn}), ${Object.keys(m.rowCounts).length} tables counted in that snapshot`);
    demo.say(`  stored on ${m.destinations.join(' and ')}, age-encrypted; manifest written last${m.degraded ? ' — DEGRADED' : ''}`);

    demo.say('A backup nobody has restored is not a backup. prodguard restores it into a throw-away cluster:');
    demo.showCommand('prodguard backup verify latest');
    const v = await verifyBackup(demo.ctx, m.id);
    if (v.ok) demo.say(`  every copy's sha256 checked, decrypted, restored, row counts match the manifest (${humanDuration(v.durationMs)})`);
    else throw new Error(`backup verify failed: ${v.problems.join('; ')}`);

    // The weekly drill: restore + smoke tests, and the recovery time and point it proves.
    const { runDrill } = await import('../../restore/drill.js');
    demo.showCommand(`prodguard drill --env ${env}   # weekly (schedules.drill), with the smoke tests from prodguard.yaml`);
    const d = await runDrill(demo.ctx, { environment: env });
    if (!d.ok) throw new Error(`restore drill failed: ${d.error}`);
    demo.say(`  drill passed: ${d.tablesChecked} tables' row counts checked, ${d.smoke.filter((x) => x.ok).length}/${d.smoke.length} smoke tests ok; recovery time (RTO) ${humanDuration(d.rtoMs)}, data that would be lost (RPO) ${d.rpoMs === null ? 'unknown' : humanDuration(d.rpoMs)} — the age of the backup it restored.`);

    demo.showCommand('prodguard backup list');
    for (const b of await listBackups(demo.ctx, { env })) {
      demo.say(`  ${b.id}  ${b.environment}  ${b.destinations.join(',')}  ${b.degraded ? 'DEGRADED' : 'ok'}  verified: ${b.verified ? (b.verified.ok ? 'ok' : 'FAILED') : 'never'}`);
    }
  },
};
