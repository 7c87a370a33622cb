/**
 * `prodguard init` as a person meets it: answers checked as they are given (a pseudo-terminal
 * from util-linux `script`), connection variables offered from .env* by name only, every detected
 * agent wired (guard hook + read-only MCP door), CI workflows and the schedule, the .gitignore
 * section, and the exact next three commands.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, TSX, makeProject, runCli } from '../helpers/cli.js';

const SECRET = 'sup3rs3cretpw';

test('interactive init asks again after an invalid answer, offers .env variables by name and never echoes their values', () => {
  const p = makeProject({
    'supabase/config.toml': 'project_id = "acme"\n',
    'supabase/migrations/20260101000000_init.sql': 'select 1;\n',
    '.env': `PROD_DATABASE_URL=postgresql://postgres:${SECRET}@db.example:5432/postgres\n`,
    '.env.local': `LOCAL_DB=postgres://postgres:postgres@127.0.0.1:54322/postgres\nUNRELATED=1\n`,
  });
  try {
    // name, production var (invalid, then accept the offer), staging var, production ref (invalid, then valid), staging ref,
    // seniors, bucket, second place, second bucket var, agents, ci, schedule
    const answers = ['acme', 'not a var', '', '', 'Bad Ref', 'acmeprod01', 'acmestage01', 'alice,bob', '', 'dir', 'BACKUP_DIR', 'none', 'none', 'serve', ''].join('\n');
    const cmd = `${JSON.stringify(process.execPath)} --import ${JSON.stringify(TSX)} ${JSON.stringify(CLI)} init`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: p.dir, input: answers, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(out, /Connection variables in your \.env files \(values not shown\): PROD_DATABASE_URL \(\.env\), LOCAL_DB \(\.env\.local\)/);
    assert.match(out, /"not a var" is not an environment variable name .*; try again/);
    assert.match(out, /"Bad Ref" is not a Supabase project ref .*; try again/);
    assert.doesNotMatch(out, new RegExp(SECRET), 'no value from .env is echoed');
    const yaml = readFileSync(join(p.dir, 'prodguard.yaml'), 'utf8');
    assert.match(yaml, /urlEnv: PROD_DATABASE_URL/, 'the offered production variable was taken');
    assert.match(yaml, /urlEnv: LOCAL_DB/, 'the local variable found in .env.local is the default');
    assert.match(yaml, /supabaseRef: acmeprod01/);
    assert.match(yaml, /type: local\n\s+path: \$\{BACKUP_DIR\}/);
    assert.doesNotMatch(yaml, new RegExp(SECRET));
    assert.match(out, /next:\r?\n {2}npx prodguard backup keygen[^\n]*\n {2}npx prodguard doctor[^\n]*\n {2}npx prodguard status/);
  } finally {
    p.cleanup();
  }
});

test('init --yes wires every detected agent (hook + read-only MCP door), the CI workflows and the schedule, and ends with the next three commands', async () => {
  const p = makeProject({
    'supabase/config.toml': 'project_id = "acme"\n',
    'supabase/migrations/20260101000000_init.sql': 'select 1;\n',
    'supabase/.temp/project-ref': 'acmeprod01\n',
    '.env': `STAGING_DB_URL=postgresql://postgres:${SECRET}@stage.example:5432/postgres\n`,
    '.claude/settings.json': JSON.stringify({ permissions: { allow: ['Bash(git status)'] } }),
    '.cursor/rules.md': '# rules\n',
    'GEMINI.md': '# gemini\n',
    '.mcp.json': JSON.stringify({ mcpServers: { other: { command: 'other-server' } } }),
    '.github/CODEOWNERS': '* @acme/seniors\n',
  });
  try {
    const r = await runCli(['init', '--yes', '--senior', 'alice', '--senior', 'bob', '--staging-ref', 'acmestage01', '--schedule', 'ci', '--json'], { cwd: p.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(SECRET));
    const out = JSON.parse(r.stdout) as { agents: string[]; variablesFound: Array<{ name: string; file: string }>; next: string[] };
    assert.deepEqual(out.agents, ['claude-code', 'cursor', 'gemini']);
    assert.deepEqual(out.variablesFound.map((v) => [v.name, v.file]), [['STAGING_DB_URL', '.env']]);
    assert.equal(out.next.length, 3);
    const yaml = readFileSync(join(p.dir, 'prodguard.yaml'), 'utf8');
    assert.match(yaml, /urlEnv: STAGING_DB_URL/, 'the staging variable found in .env');
    assert.match(yaml, /server:\n\s+schedule: ci/);
    const json = (f: string) => JSON.parse(readFileSync(join(p.dir, f), 'utf8'));
    const claude = json('.claude/settings.json');
    assert.deepEqual(claude.permissions, { allow: ['Bash(git status)'] }, 'other settings kept');
    assert.match(claude.hooks.PreToolUse[0].hooks[0].command, /hook-main\.js'? claude-code \|\| exit 2$/);
    assert.ok(json('.cursor/hooks.json').hooks.beforeShellExecution.length > 0);
    assert.ok(json('.gemini/settings.json').hooks.BeforeTool.length > 0);
    const mcp = json('.mcp.json');
    assert.deepEqual(mcp.mcpServers.other, { command: 'other-server' }, 'other MCP servers kept');
    assert.deepEqual(mcp.mcpServers.prodguard.args.slice(-3), ['mcp', '--env', 'production']);
    assert.equal(mcp.mcpServers.prodguard.env.PRODGUARD_GATEWAY_URL, '${PRODGUARD_GATEWAY_URL}');
    assert.ok(json('.cursor/mcp.json').mcpServers.prodguard);
    assert.ok(json('.gemini/settings.json').mcpServers.prodguard);
    assert.ok(existsSync(join(p.dir, '.github/workflows/prodguard.yml')), 'the migration pipeline');
    assert.ok(existsSync(join(p.dir, '.github/workflows/prodguard-schedule.yml')), 'the scheduled backup');
    assert.match(readFileSync(join(p.dir, '.gitignore'), 'utf8'), /# >>> prodguard >>>/);
    // Once more: idempotent, and existing workflows are kept rather than overwritten.
    const again = await runCli(['init', '--yes', '--force', '--senior', 'alice', '--senior', 'bob', '--staging-ref', 'acmestage01', '--schedule', 'ci'], { cwd: p.dir });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /kept the existing file/);
    assert.equal(json('.claude/settings.json').hooks.PreToolUse.length, 1);
  } finally {
    p.cleanup();
  }
});

test('init refuses bad flag values in one line before writing anything', async () => {
  const p = makeProject({ 'migrations/001_init.sql': 'select 1;\n' });
  try {
    for (const [args, msg] of [
      [['--agents', 'claude-code,vim'], /^prodguard: --agents: unknown agent\(s\): vim/],
      [['--ci', 'jenkins'], /^prodguard: --ci: "jenkins" is not github or none/],
      [['--schedule', 'ci'], /^prodguard: --schedule ci needs the scheduled workflow: add --ci github/],
      [['--senior', 'bad name!'], /^prodguard: --senior: not a name: bad name!/],
    ] as const) {
      const r = await runCli(['init', '--yes', ...args], { cwd: p.dir });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, msg);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.equal(existsSync(join(p.dir, 'prodguard.yaml')), false, 'nothing written');
    }
  } finally {
    p.cleanup();
  }
});

test('after init, config check and doctor name every missing variable, key and credential at once', async () => {
  const p = makeProject({ 'migrations/001_init.sql': 'select 1;\n' });
  try {
    assert.equal((await runCli(['init', '--yes', '--senior', 'alice', '--senior', 'bob', '--second-place', 'dir'], { cwd: p.dir })).code, 0);
    // A clean environment: none of the variables prodguard.yaml names is set.
    const env: Record<string, string | undefined> = {};
    for (const k of ['PRODUCTION_DATABASE_URL', 'STAGING_DATABASE_URL', 'LOCAL_DATABASE_URL', 'PRODGUARD_BACKUP_BUCKET', 'PRODGUARD_BACKUP_DIR', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'PRODGUARD_AGE_IDENTITY']) env[k] = undefined;
    const check = await runCli(['config', 'check'], { cwd: p.dir, env });
    assert.equal(check.code, 0, check.stderr);
    for (const v of ['PRODUCTION_DATABASE_URL', 'STAGING_DATABASE_URL', 'LOCAL_DATABASE_URL']) assert.match(check.stdout, new RegExp(`variable ${v} is not set`));
    assert.match(check.stdout, /backup\.encryption\.recipients is empty/);
    assert.match(check.stdout, /5 variable\(s\) named in prodguard\.yaml are not set in this shell: PRODGUARD_BACKUP_BUCKET \(destination "offsite" bucket\), AWS_ACCESS_KEY_ID \(destination "offsite" access key\), AWS_SECRET_ACCESS_KEY \(destination "offsite" secret key\), PRODGUARD_BACKUP_DIR \(destination "second" path\), PRODGUARD_AGE_IDENTITY \(the age identity/);
    const doctor = await runCli(['doctor'], { cwd: p.dir, env, timeoutMs: 180_000 });
    assert.equal(doctor.code, 1, doctor.stderr);
    assert.match(doctor.stdout, /✗ environment production \(production\): no connection URL \(\$PRODUCTION_DATABASE_URL is not set\)/);
    assert.match(doctor.stdout, /✗ backup destinations: not set: PRODGUARD_BACKUP_BUCKET .*AWS_ACCESS_KEY_ID .*AWS_SECRET_ACCESS_KEY .*PRODGUARD_BACKUP_DIR \(destination "second" path\)/);
    assert.match(doctor.stdout, /✗ backup encryption keys: /);
    assert.match(doctor.stderr, /^prodguard: 3 problem\(s\) found: environment production \(production\), backup destinations, backup encryption keys/);
  } finally {
    p.cleanup();
  }
});
