import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, minimalConfig, runCli } from '../helpers/cli.js';
import { createCluster, type Cluster } from '../../src/pg/cluster.js';
import { generateKeyPair } from '../../src/backup/encryption.js';

let cluster: Cluster;
let project: { dir: string; cleanup(): void };
let keys: { identity: string; recipient: string };

const config = (recipient: string, path: string) => minimalConfig(`backup:
  encryption:
    recipients: [${recipient}]
  destinations:
    - name: disk
      type: local
      path: ${path}
`);

before(async () => {
  cluster = await createCluster({ name: 'prodguard-test-doctor' });
  keys = await generateKeyPair();
  project = makeProject({ 'prodguard.yaml': config(keys.recipient, 'backups') });
});

after(async () => {
  project?.cleanup();
  await cluster?.destroy();
});

test('doctor passes a working installation: binaries, connection, clock, destination, key', async () => {
  const env = { PRODUCTION_DATABASE_URL: cluster.url(), PRODGUARD_AGE_IDENTITY: keys.identity, STAGING_DATABASE_URL: cluster.url() };
  const r = await runCli(['doctor', '--json'], { cwd: project.dir, env });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout) as { ok: boolean; results: Array<{ id: string; state: string; detail: string; fix?: string }> };
  const by = Object.fromEntries(report.results.map((x) => [x.id, x]));
  assert.equal(by['bin.pg_dump'].state, 'ok');
  assert.match(by['env.production'].detail, /connected: PostgreSQL \d+/);
  assert.match(by['env.production'].detail, /clock skew -?\d+\.\d+ s/);
  assert.equal(by['env.production'].state, 'ok');
  assert.equal(by['dest.disk'].state, 'ok');
  assert.equal(by['keys'].state, 'ok');
  assert.equal(by['env.local'].state, 'warn');
  assert.equal(by['hooks.claude-code'].state, 'warn');
  assert.match(by['hooks.claude-code'].fix!, /prodguard install claude-code/);
  assert.doesNotMatch(r.stdout, /AGE-SECRET-KEY/);
});

test('doctor names each broken part with a fix and exits 1', async () => {
  const other = await generateKeyPair();
  writeFileSync(join(project.dir, 'not-a-dir'), 'x');
  writeFileSync(join(project.dir, 'prodguard.yaml'), config(keys.recipient, 'not-a-dir'));
  const env = { PRODUCTION_DATABASE_URL: 'postgresql://postgres:hunter2-secret@127.0.0.1:1/app', PRODGUARD_AGE_IDENTITY: other.identity };
  const r = await runCli(['doctor'], { cwd: project.dir, env });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /✗ environment production \(production\): cannot connect/);
  assert.match(r.stdout, /✗ destination disk \(local\):/);
  assert.match(r.stdout, /✗ backup encryption keys: the identity in \$PRODGUARD_AGE_IDENTITY belongs to age1/);
  assert.match(r.stdout, /fix: use the identity of a listed recipient/);
  assert.doesNotMatch(r.stdout + r.stderr, /hunter2-secret/);
  assert.match(r.stderr, /problem\(s\) found/);
});
