/** The gateway's user and grant commands through the real CLI: clear errors, no secrets printed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, minimalConfig, runCli } from '../helpers/cli.js';

test('gateway user add|list|remove: password from stdin or generated once, verifier never shown, unknown member refused', async (t) => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig() + '\nteam:\n  - name: alice\n    role: senior\n' });
  t.after(p.cleanup);
  const added = await runCli(['gateway', 'user', 'add', 'alice', '--member', 'alice', '--password-stdin'], { cwd: p.dir, input: 'a-long-enough-password\n' });
  assert.equal(added.code, 0, added.stderr);
  assert.doesNotMatch(added.stdout, /a-long-enough-password/);
  const gen = await runCli(['gateway', 'user', 'add', 'alice2', '--member', 'alice', '--json'], { cwd: p.dir });
  assert.equal(gen.code, 0, gen.stderr);
  const password = (JSON.parse(gen.stdout) as { password: string }).password;
  assert.ok(password.length >= 24);
  const list = await runCli(['gateway', 'user', 'list', '--json'], { cwd: p.dir });
  assert.deepEqual((JSON.parse(list.stdout) as Array<{ name: string; member: string }>).map((u) => [u.name, u.member]), [['alice', 'alice'], ['alice2', 'alice']]);
  assert.doesNotMatch(list.stdout, /SCRAM-SHA-256/);
  const audit = readFileSync(join(p.dir, '.prodguard/audit.jsonl'), 'utf8');
  assert.doesNotMatch(audit, new RegExp(password));
  const bad = await runCli(['gateway', 'user', 'add', 'mallory', '--member', 'mallory', '--password-stdin'], { cwd: p.dir, input: 'whatever-long-password' });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /"mallory" is not a team member/);
  const short = await runCli(['gateway', 'user', 'add', 'bob', '--member', 'alice', '--password-stdin'], { cwd: p.dir, input: 'short' });
  assert.equal(short.code, 2);
  assert.equal((await runCli(['gateway', 'user', 'remove', 'alice2'], { cwd: p.dir })).code, 0);
  const gone = await runCli(['gateway', 'user', 'remove', 'alice2'], { cwd: p.dir });
  assert.equal(gone.code, 2);
  assert.match(gone.stderr, /no gateway user "alice2"/);
});

test('gateway without --env, lockdown token with a bad kind, and grants on an empty store answer in one line', async (t) => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig() });
  t.after(p.cleanup);
  const noEnv = await runCli(['gateway'], { cwd: p.dir });
  assert.equal(noEnv.code, 2);
  assert.match(noEnv.stderr, /^prodguard: gateway needs --env <name>\n$/);
  const badKind = await runCli(['lockdown', 'token', '--env', 'production', '--kind', 'forever', '--reason', 'x'], { cwd: p.dir });
  assert.equal(badKind.code, 2);
  assert.match(badKind.stderr, /--kind must be deploy or break-glass/);
  const grants = await runCli(['grants', '--json'], { cwd: p.dir });
  assert.equal(grants.code, 0, grants.stderr);
  assert.deepEqual(JSON.parse(grants.stdout), []);
  const help = await runCli(['mcp', '--help'], { cwd: p.dir });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /MCP server/);
});
