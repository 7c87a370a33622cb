import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runCli } from '../helpers/cli.js';

test('prodguard demo runs every chapter against real clusters, prints the scorecard and leaves nothing behind', async () => {
  const r = await runCli(['demo', '--json'], { timeoutMs: 600_000 });
  const result = JSON.parse(r.stdout) as {
    ok: boolean;
    projectDir: string;
    clusterDirs: string[];
    chapters: Array<{ id: string; ok: boolean; error?: string }>;
    scorecard: { rules: Array<{ rule: number; state: string }> };
  };
  const failed = result.chapters.filter((c) => !c.ok);
  assert.deepEqual(failed, [], r.stderr.slice(-3000));
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  assert.ok(result.chapters.length >= 1);
  assert.deepEqual(result.scorecard.rules.map((x) => x.rule), [1, 2, 3, 4, 5, 6]);
  assert.match(r.stderr, /seeded: 300 businesses, 3000 customers, 6000 orders/);
  assert.equal(existsSync(result.projectDir), false, 'demo project removed');
  assert.equal(result.clusterDirs.length, 2);
  for (const d of result.clusterDirs) assert.equal(existsSync(d), false, `cluster directory ${d} removed`);
  assert.doesNotMatch(r.stderr + r.stdout, /AGE-SECRET-KEY-1[0-9A-Z]{10}/, 'no private key printed');

  // The story, chapter by chapter, in order, with headings.
  assert.deepEqual(result.chapters.map((c) => c.id), ['guard', 'backup', 'sql-lint', 'migrate', 'access', 'emergency', 'recovery', 'audit']);
  assert.match(r.stderr, /━━ Chapter 1 of 8 \(guard\): /);
  assert.match(r.stderr, /━━ Chapter 8 of 8 \(audit\): /);
  const story = r.stderr;
  // Agents: the reset and five disguises denied, an MCP execute_sql DROP TABLE denied, prodguard mcp answering a read.
  assert.equal((story.match(/✋ hook answered deny/g) ?? []).length, 7, 'the reset, five disguises and the MCP DROP TABLE');
  assert.match(story, /execute_sql \{"project_id": "qwikkerprod", "query": "DROP TABLE businesses"\}\n\s+✋ hook answered deny/);
  assert.match(story, /\(agent → prodguard mcp\) query: SELECT count\(\*\) FROM businesses\n\s+→ \{"businesses":300\}/);
  // Backups: two places, the local S3 stand-in named as such; verified; drilled.
  assert.match(story, /a local S3 stand-in \(s3rver on http:\/\/127\.0\.0\.1:\d+\)/);
  assert.match(story, /drill passed: .* recovery time \(RTO\) [\d.]+ (s|min)/);
  // Migrations: self-approval and a senior added in the same branch refused; OIDC-verified CI deploy.
  assert.match(story, /alice approves her own change\n\s+refused: self-approval/);
  assert.match(story, /alice-laptop\.ed25519\.key\n\s+refused: /);
  assert.match(story, /from alice's laptop\n\s+refused: .*no OIDC token/);
  assert.match(story, /deployed 20260301000000_orders_note\.sql; pre-migration backup .* \(verified by restore\); approved by bob and carol/);
  // Lockdown, the disaster under break-glass, PITR with every row back and the time measured.
  assert.match(story, /ERROR 42501: prodguard lockdown: DROP TABLE refused/);
  assert.match(story, /DELETE 6000 +\(the gateway allowed it: the grant is open/);
  assert.match(story, /production has 6000 orders again \(6000 before the DELETE\)/);
  assert.match(story, /measured: from the DELETE to the last row back [\d.]+ (s|min) .*orders lost: none/);
  assert.match(story, /ERROR 25006: prodguard gateway: write statement refused for "sam"/);
  // Audit against its anchor, a forged copy caught, the incident timeline.
  assert.match(story, /chain intact: \d+ records; anchors agree: [1-9]\d* signed checkpoint/);
  assert.match(story, /edited to "allow": record \d+ was edited/);
  assert.match(story, /# Incident: invoice run blocked — \d+ entries/);
  // One unit policy, honest ages, and what to do next.
  assert.doesNotMatch(story, /\b0\.0 h\b/, 'no "0.0 h"');
  assert.doesNotMatch(story, /\d{4,} bytes/, 'sizes in human units');
  assert.doesNotMatch(story, /[1-9] migration\(s\) not yet applied/, 'staging is not ✓ with migrations missing');
  assert.match(story, /Be suspicious of the green: everything above was created .* ago by this demo/);
  assert.match(story, /Next, in your own project[^\n]*\n {2}npx prodguard init[^\n]*\n {2}npx prodguard install claude-code[^\n]*\n {2}npx prodguard status/);
});

test('prodguard demo --chapter runs that chapter only', async () => {
  const r = await runCli(['demo', '--chapter', 'guard', '--json'], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const result = JSON.parse(r.stdout) as { chapters: Array<{ id: string; ok: boolean }>; root: string };
  assert.deepEqual(result.chapters.map((c) => [c.id, c.ok]), [['guard', true]]);
  assert.match(r.stderr, /━━ Chapter 1 of 1 \(guard\)/);
  assert.doesNotMatch(r.stderr, /press Enter/, 'never pauses without a terminal');
  assert.equal(existsSync(result.root), false);
});

test('Ctrl-C in the middle of the demo stops its clusters and removes everything it created', async () => {
  const { spawn, spawnSync } = await import('node:child_process');
  const { CLI, TSX, REPO } = await import('../helpers/cli.js');
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'demo', '--no-pause'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  // Interrupt once the clusters are up and a chapter is running.
  const deadline = Date.now() + 300_000;
  while (!/━━ Chapter 2 of /.test(out) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
  assert.match(out, /━━ Chapter 2 of /, out.slice(-2000));
  const root = /project +(\/\S+)\/qwikker /.exec(out)?.[1];
  assert.ok(root, 'the demo printed its project directory');
  assert.ok(existsSync(root));
  child.kill('SIGINT');
  const code = await exited;
  assert.equal(code, 130, out.slice(-2000));
  assert.match(out, /SIGINT: stopping the demo's clusters and removing /);
  assert.equal(existsSync(root), false, `${root} removed`);
  const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
  assert.equal(ps.split('\n').filter((l) => l.includes(root)).length, 0, `no process left running in ${root}:\n${ps.split('\n').filter((l) => l.includes(root)).join('\n')}`);
});

test('prodguard demo --chapter with an unknown id is a usage error before any cluster starts', async () => {
  const r = await runCli(['demo', '--chapter', 'no-such-chapter']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^prodguard: unknown demo chapter\(s\): no-such-chapter; chapters: /);
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  assert.doesNotMatch(r.stderr, /Starting two local PostgreSQL clusters/);
});
