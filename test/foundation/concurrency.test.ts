import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, REPO, TSX } from '../helpers/cli.js';
import { SqliteStore, SQLITE_MIGRATIONS } from '../../src/store/sqlite-store.js';
import { verifyAuditText } from '../../src/audit/log.js';

function runScript(dir: string, code: string, args: string[]): Promise<number> {
  const file = join(dir, `worker-${Math.random().toString(36).slice(2)}.mts`);
  writeFileSync(file, code);
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', TSX, file, ...args], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
    c.on('error', reject);
    c.on('close', (code) => resolve(code ?? 1));
  });
}

test('the state store is versioned and uses WAL mode', async () => {
  const p = makeProject();
  const store = new SqliteStore(join(p.dir, 'state.db'));
  assert.equal(store.schemaVersion(), SQLITE_MIGRATIONS.length);
  await store.put('things', 'a', { n: 1 });
  assert.deepEqual(await store.get('things', 'a'), { n: 1 });
  await store.close();
  const again = new SqliteStore(join(p.dir, 'state.db'));
  assert.deepEqual(await again.get('things', 'a'), { n: 1 });
  await again.close();
  assert.ok(readFileSync(join(p.dir, 'state.db')).subarray(18, 20).equals(Buffer.from([2, 2])), 'WAL mode is recorded in the file header');
  p.cleanup();
});

test('several processes writing the store at once lose nothing', async () => {
  const p = makeProject();
  const db = join(p.dir, 'state.db');
  const worker = `import { SqliteStore } from ${JSON.stringify(join(REPO, 'src/store/sqlite-store.ts'))};
const [file, who] = process.argv.slice(2);
const s = new SqliteStore(file);
for (let i = 0; i < 60; i++) await s.put('writes', who + '-' + i, { who, i });
await s.close();`;
  const codes = await Promise.all(Array.from({ length: 6 }, (_, w) => runScript(p.dir, worker, [db, `w${w}`])));
  assert.deepEqual(codes, [0, 0, 0, 0, 0, 0]);
  const s = new SqliteStore(db);
  assert.equal((await s.list('writes')).length, 360);
  await s.close();
  p.cleanup();
});

test('concurrent audit appends from several processes keep the chain valid', async () => {
  const p = makeProject();
  const log = join(p.dir, 'audit.jsonl');
  const worker = `import { AuditLog } from ${JSON.stringify(join(REPO, 'src/audit/log.ts'))};
const [file, who] = process.argv.slice(2);
const l = new AuditLog(file);
for (let i = 0; i < 40; i++) await l.append({ action: 'test', command: who + ' ' + i, target: '-', verdict: 'ok', reason: 'x' });`;
  const codes = await Promise.all(Array.from({ length: 5 }, (_, w) => runScript(p.dir, worker, [log, `w${w}`])));
  assert.deepEqual(codes, [0, 0, 0, 0, 0]);
  const r = verifyAuditText(readFileSync(log, 'utf8'));
  assert.equal(r.ok, true, JSON.stringify(r.problems.slice(0, 3)));
  assert.equal(r.records, 200);
  p.cleanup();
});
