import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { createCluster } from '../../src/pg/cluster.js';
import { withClient } from '../../src/pg/client.js';
import { runPgTool } from '../../src/pg/run-tool.js';
import { contextFrom } from '../../src/context.js';
import { loadConfig } from '../../src/config/load.js';
import { createBackup } from '../../src/backup/create.js';
import { materializeBackup } from '../../src/backup/materialize.js';
import { restoreBackup } from '../../src/restore/restore.js';

const t0 = () => process.hrtime.bigint();
const secs = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const scale = Number(process.env.SCALE ?? 20);
const runs = Number(process.env.RUNS ?? 3);
const what = process.env.WHAT ?? 'both';
const src = await createCluster({ name: 'prof-src', durable: true, settings: { max_wal_size: '2GB', max_connections: 100 } });
const dst = await createCluster({ name: 'prof-dst' });
const dir = mkdtempSync(join(tmpdir(), 'prof-'));
chmodSync(dir, 0o755);
const identity = await generateIdentity();
writeFileSync(join(dir, 'prodguard.yaml'), `version: 1
environments:
  staging: { kind: staging, urlEnv: STAGING_DATABASE_URL }
  production: { kind: production, urlEnv: PRODUCTION_DATABASE_URL }
backup:
  encryption: { recipients: [${await identityToRecipient(identity)}] }
  destinations: [{ name: local, type: local, path: backups }]
`);
Object.assign(process.env, { PRODUCTION_DATABASE_URL: src.url(), STAGING_DATABASE_URL: dst.url(), PRODGUARD_AGE_IDENTITY: identity });
const ctx = contextFrom(loadConfig({ cwd: dir }));
try {
  await runPgTool('pgbench', ['-i', '-s', String(scale), '-q', src.url()]);
  await withClient(src.url(), (c) => c.query('CHECKPOINT'));
  const bareDir = join(dir, 'bare.d');
  const bare: number[] = [], ours: number[] = [];
  let lastId = '';
  for (let i = 0; i < runs; i++) {
    rmSync(bareDir, { recursive: true, force: true });
    let t = t0();
    await runPgTool('pg_dump', ['-Fd', '-j', '2', '-f', bareDir, `--dbname=${src.url()}`]);
    bare.push(secs(t));
    t = t0();
    const ph: string[] = [];
    const cpu = process.cpuUsage();
    const r = await createBackup(ctx, { env: 'production', onPhase: (p) => ph.push(`${p}@${secs(t).toFixed(2)}`) });
    ours.push(secs(t));
    const cu = process.cpuUsage(cpu); ph.push(`nodeCPU ${(cu.user/1e6).toFixed(2)}u ${(cu.system/1e6).toFixed(2)}s`);
    lastId = r.id;
    console.log(`backup run ${i}: bare ${bare[i].toFixed(2)} ours ${ours[i].toFixed(2)} ${ph.join(' ')} load ${loadavg()[0].toFixed(2)}`);
  }
  console.log(`BACKUP median bare ${med(bare).toFixed(2)} ours ${med(ours).toFixed(2)} ratio ${(med(ours) / med(bare)).toFixed(2)}`);
  if (what !== 'backup') {
    const plainDir = mkdtempSync(join(tmpdir(), 'prof-plain-'));
    const m = await materializeBackup(ctx, lastId, plainDir, { env: 'production' });
    const bareR: number[] = [], oursR: number[] = [];
    for (let i = 0; i < runs; i++) {
      let t = t0();
      await runPgTool('createdb', [`--maintenance-db=${dst.url()}`, `bare_${i}`]);
      await runPgTool('pg_restore', ['--no-owner', '--exit-on-error', '-j', '2', '-d', dst.url(`bare_${i}`), m.dumpPath]);
      bareR.push(secs(t));
      t = t0();
      const ph: string[] = [];
      const cpu = process.cpuUsage();
      await restoreBackup(ctx, { backup: lastId, to: 'staging', newDatabase: `ours_${i}`, jobs: 2, onProgress: (l) => { if (!/^pg_restore:/.test(l)) ph.push(`${l.slice(0, 20)}@${secs(t).toFixed(2)}`); } });
      oursR.push(secs(t));
      const cu = process.cpuUsage(cpu); ph.push(`nodeCPU ${(cu.user/1e6).toFixed(2)}u ${(cu.system/1e6).toFixed(2)}s`);
      console.log(`restore run ${i}: bare ${bareR[i].toFixed(2)} ours ${oursR[i].toFixed(2)} ${ph.join(' | ')} load ${loadavg()[0].toFixed(2)}`);
    }
    rmSync(plainDir, { recursive: true, force: true });
    console.log(`RESTORE median bare ${med(bareR).toFixed(2)} ours ${med(oursR).toFixed(2)} ratio ${(med(oursR) / med(bareR)).toFixed(2)}`);
  }
} finally {
  await ctx.close();
  await src.destroy();
  await dst.destroy();
  rmSync(dir, { recursive: true, force: true });
}
