import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, minimalConfig, runCli } from '../helpers/cli.js';
import { AuditLog, verifyAuditText } from '../../src/audit/log.js';

function logWith(n: number) {
  const p = makeProject({ 'prodguard.yaml': minimalConfig() });
  const log = new AuditLog(join(p.dir, '.prodguard/audit.jsonl'));
  return { p, log, fill: async () => { for (let i = 1; i <= n; i++) await log.append({ action: 'test', command: `cmd ${i}`, target: 'production', verdict: 'ok', reason: `r${i}` }); } };
}

test('an untouched log verifies', async () => {
  const { p, log, fill } = logWith(5);
  await fill();
  const r = verifyAuditText(readFileSync(log.file, 'utf8'));
  assert.equal(r.ok, true);
  assert.equal(r.records, 5);
  p.cleanup();
});

test('a record edited with a text editor is named by verify', async () => {
  const { p, log, fill } = logWith(5);
  await fill();
  const text = readFileSync(log.file, 'utf8').replace('"reason":"r3"', '"reason":"nothing happened"');
  const r = verifyAuditText(text);
  assert.equal(r.ok, false);
  assert.match(r.problems[0].problem, /record 3 was edited/);
  p.cleanup();
});

test('a deleted line is reported as missing', async () => {
  const { p, log, fill } = logWith(5);
  await fill();
  const lines = readFileSync(log.file, 'utf8').trim().split('\n');
  lines.splice(1, 1);
  const r = verifyAuditText(lines.join('\n') + '\n');
  assert.equal(r.ok, false);
  assert.match(r.problems.map((x) => x.problem).join('\n'), /record 2 is missing \(deleted\)/);
  p.cleanup();
});

test('two swapped lines are reported as out of order', async () => {
  const { p, log, fill } = logWith(5);
  await fill();
  const lines = readFileSync(log.file, 'utf8').trim().split('\n');
  [lines[2], lines[3]] = [lines[3], lines[2]];
  const r = verifyAuditText(lines.join('\n') + '\n');
  assert.equal(r.ok, false);
  assert.match(r.problems.map((x) => x.problem).join('\n'), /out of order/);
  p.cleanup();
});

test('passwords in commands are masked before they are written', async () => {
  const { p, log } = logWith(0);
  await log.append({ action: 'guard.check', command: 'psql postgresql://app:s3cret@db.example.com/app -c "select 1"', target: 'production', verdict: 'allow', reason: 'read' });
  const text = readFileSync(log.file, 'utf8');
  assert.doesNotMatch(text, /s3cret/);
  assert.match(text, /app:\*\*\*\*@db\.example\.com/);
  p.cleanup();
});

test('prodguard audit verify exits 1 and names the line after tampering, via the CLI', async () => {
  const { p, log, fill } = logWith(3);
  await fill();
  const ok = await runCli(['audit', 'verify'], { cwd: p.dir });
  assert.equal(ok.code, 0, ok.stderr);
  writeFileSync(log.file, readFileSync(log.file, 'utf8').replace('"cmd 2"', '"cmd 9"'));
  const bad = await runCli(['audit', 'verify'], { cwd: p.dir });
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /audit\.jsonl:2: record 2 was edited/);
  assert.match(bad.stderr, /^prodguard: audit log tampered/);
  p.cleanup();
});
