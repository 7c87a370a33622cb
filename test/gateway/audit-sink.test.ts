/** The gateway's audit sink: the same hash chain as the main log, continued across restarts, flushed on exit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { GatewayAuditSink, canonical, flatCanonical, sessionDetailsJson, sessionStatementDetailsJson, statementDetailsJson, type StatementDetails } from '../../src/gateway/audit-sink.js';
import { recordHash, verifyAuditText, type AuditRecord } from '../../src/audit/log.js';

test('records chain as the main log hashes them, and a new sink continues the chain from the last line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-sink-'));
  try {
    const file = join(dir, 'gw.jsonl');
    let s = new GatewayAuditSink(file);
    s.append({ actor: 'dave', action: 'gateway.statement', command: 'SELECT "x" FROM t WHERE a = ?', target: 'production', verdict: 'allow', reason: 'read: ok ✓', details: { user: 'dave', rows: 1, durationMs: 0, class: 'read', grant: undefined, error: 'x\ny' } });
    s.append({ actor: 'dave', action: 'gateway.connect', command: '', target: 'production', verdict: 'allow', reason: 'read-only session' }, true);
    s.append({ actor: 'dave', action: 'gateway.statement', command: 'SELECT 1', target: 'production', verdict: 'deny', reason: 'r', details: { nested: { b: 1, a: [2, { d: 1, c: null }] }, z: true } });
    s.close();
    s = new GatewayAuditSink(file);
    s.append({ actor: 'alice', action: 'gateway.statement', command: 'SELECT 2', target: 'production', verdict: 'allow', reason: 'read' });
    s.close();
    const text = readFileSync(file, 'utf8');
    const v = verifyAuditText(text);
    assert.ok(v.ok, JSON.stringify(v.problems));
    assert.equal(v.records, 4);
    const recs = text.trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
    for (const r of recs) {
      const { hash, ...body } = r;
      assert.equal(recordHash(body), hash);
    }
    assert.deepEqual(recs.map((r) => r.seq), [1, 2, 3, 4]);
    assert.equal((recs[0].details as Record<string, unknown>).grant, undefined);
    // A damaged last line is chained onto, so verify names it rather than the sink forking the chain.
    appendFileSync(file, '{not json\n');
    s = new GatewayAuditSink(file);
    s.append({ actor: 'alice', action: 'gateway.statement', command: 'SELECT 3', target: 'production', verdict: 'allow', reason: 'read' });
    s.close();
    const again = verifyAuditText(readFileSync(file, 'utf8'));
    assert.equal(again.ok, false);
    assert.equal(again.problems.length, 1, JSON.stringify(again.problems));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('statementDetailsJson is canonical JSON of a statement record’s details, with or without the optional fields', () => {
  const base: StatementDetails = { user: 'dave', client: '127.0.0.1:5000', session: 'ab12', class: 'read', protocol: 'simple' };
  for (const extra of [{}, { durationMs: 3, rows: 0 }, { grant: 'g-1', error: 'XX000: "quoted"\nline' }, { class: null, durationMs: 0, rows: 7, grant: 'g', error: 'e' }]) {
    const d = { ...base, ...extra } as StatementDetails;
    assert.equal(statementDetailsJson(d), canonical(d));
  }
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-sink-'));
  try {
    const s = new GatewayAuditSink(join(dir, 'gw.jsonl'));
    s.appendJson({ actor: 'dave', action: 'gateway.statement', command: 'SELECT ?', target: 'production', verdict: 'allow', reason: 'read' }, statementDetailsJson({ ...base, durationMs: 1, rows: 1 }));
    s.close();
    const text = readFileSync(join(dir, 'gw.jsonl'), 'utf8');
    assert.ok(verifyAuditText(text).ok);
    assert.deepEqual(JSON.parse(text).details, { ...base, durationMs: 1, rows: 1 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flatCanonical is canonical JSON for flat and nested details', () => {
  for (const o of [{ b: 1, a: 'x', c: null, d: undefined }, { z: { y: 1, x: [{ b: 2, a: 1 }] }, a: 1 }, {}]) {
    assert.equal(flatCanonical(o as Record<string, unknown>), canonical(o));
  }
});

test('records still buffered are written when the process exits, even on an uncaught exception', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-sink-'));
  try {
    const file = join(dir, 'gw.jsonl');
    const code = `import { GatewayAuditSink } from ${JSON.stringify(new URL('../../src/gateway/audit-sink.ts', import.meta.url).pathname)};
      const s = new GatewayAuditSink(${JSON.stringify(file)}, 60_000);
      for (let i = 0; i < 3; i++) s.append({ actor: 'dave', action: 'gateway.statement', command: 'SELECT ' + i, target: 'p', verdict: 'allow', reason: 'read' });
      setTimeout(() => { throw new Error('boom'); }, 10);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    const text = readFileSync(file, 'utf8');
    assert.equal(verifyAuditText(text).records, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sessionStatementDetailsJson (session fields serialised once) gives the same canonical JSON as statementDetailsJson', () => {
  const keys = sessionDetailsJson('dävé "x"', '127.0.0.1:5000', 'ab12');
  for (const [cls, protocol, durationMs, rows, grant, error] of [
    ['read', 'simple', 0, 0, undefined, undefined],
    [null, 'extended', 12, 1e21, 'g-1', 'XX000: "quoted"\nline ✓'],
    ['write', 'fastpath', 3, 7, undefined, 'e'],
  ] as Array<[string | null, string, number, number, string | undefined, string | undefined]>) {
    const d: StatementDetails = { user: 'dävé "x"', client: '127.0.0.1:5000', session: 'ab12', class: cls, protocol, durationMs, rows, ...(grant ? { grant } : {}), ...(error ? { error } : {}) };
    assert.equal(sessionStatementDetailsJson(keys, JSON.stringify(cls), protocol, durationMs, rows, grant, error), canonical(d));
  }
});

test('appendCanonical writes the same chained lines as append; a record larger than the batch buffer, and the team-store hand-over, keep order', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-sink-'));
  try {
    const file = join(dir, 'gw.jsonl');
    const s = new GatewayAuditSink(file, 60_000, 10);
    const handed: string[] = [];
    s.onFlush = (lines) => handed.push(...lines);
    const q = JSON.stringify;
    const huge = 'SELECT ' + 'é'.repeat(1_500_000);
    for (let i = 0; i < 25; i++) {
      const command = i === 12 ? huge : `SELECT ${i} -- ✓`;
      if (i % 2) s.append({ actor: 'dave', action: 'gateway.statement', command, target: 'production', verdict: 'allow', reason: 'read: ok' });
      else s.appendCanonical(q('gateway.statement'), q('dave'), q(command), '{"class":"read"}', q('read: ok'), q('production'), q('allow'));
    }
    s.close();
    const text = readFileSync(file, 'utf8');
    const v = verifyAuditText(text);
    assert.ok(v.ok, JSON.stringify(v.problems));
    assert.equal(v.records, 25);
    const lines = text.trim().split('\n');
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as AuditRecord).seq), Array.from({ length: 25 }, (_, i) => i + 1));
    assert.equal((JSON.parse(lines[12]) as AuditRecord).command, huge);
    assert.deepEqual(handed, lines, 'the team store gets exactly the lines of the file, in order');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
