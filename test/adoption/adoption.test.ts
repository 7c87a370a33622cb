/**
 * The README's "use it in your project" path, exactly as a new user follows it: pack this
 * repository, install the tarball into a scratch Supabase-layout project, `init --yes`,
 * `install claude-code`, `status` — the installed package, not the sources, answers every step.
 * The build in dist/ is reused (rebuilt only when a source file is newer); the install resolves
 * dependencies from the npm cache when it can (--prefer-offline), else from the registry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO } from '../helpers/cli.js';
import { createDatabase, sharedCluster } from '../helpers/pg.js';

const cluster = sharedCluster({ name: 'prodguard-adoption' });

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, env: Record<string, string | undefined> = {}, input = '', timeoutMs = 600_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const merged: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) merged[k] = v;
    const child = spawn(cmd, args, { cwd, env: merged, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    const s = statSync(full);
    newest = Math.max(newest, s.isDirectory() ? newestMtime(full) : s.mtimeMs);
  }
  return newest;
}

/** dist/ as `npm ci` (prepare) leaves it; rebuilt here only when a source file is newer. */
async function ensureBuilt(): Promise<void> {
  const main = join(REPO, 'dist/cli/main.js');
  if (existsSync(main) && statSync(main).mtimeMs >= newestMtime(join(REPO, 'src'))) return;
  const r = await run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], REPO);
  assert.equal(r.code, 0, `build failed: ${r.stdout}${r.stderr}`);
}

/** The variables of a .env file, as `set -a; . ./.env` would export them. */
function readDotenv(file: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) vars[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return vars;
}

test('npm pack → npm i -D ./prodguard-x.y.z.tgz in a Supabase project → init --yes, install claude-code, status work from the installed package', async () => {
  await ensureBuilt();
  const work = mkdtempSync(join(tmpdir(), 'prodguard-adoption-'));
  try {
    // 1. The tarball, as `npm pack` makes it (prepare already ran at `npm ci`; the build is reused).
    const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], REPO, { npm_config_loglevel: 'error' });
    assert.equal(pack.code, 0, pack.stderr);
    const packed = (JSON.parse(pack.stdout) as Array<{ filename: string; version: string; files: Array<{ path: string }> }>)[0];
    const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    assert.equal(packed.filename, `prodguard-${version}.tgz`);
    const files = packed.files.map((f) => f.path);
    for (const f of ['dist/cli/main.js', 'dist/guard/hook-main.js', 'dist/index.js', 'dist/index.d.ts', 'src/lockdown/sql/01-schema.sql', 'LICENSE', 'README.md', 'package.json']) {
      assert.ok(files.includes(f), `the tarball lacks ${f}`);
    }
    assert.deepEqual(files.filter((f) => /^(test|bench|scripts|node_modules)\/|^src\/.*\.ts$/.test(f)), [], 'no tests, benches or TypeScript sources in the tarball');
    // Ready to publish: every entry point the manifest names is in the tarball; provenance on publish.
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { bin: Record<string, string>; main: string; types: string; exports: Record<string, string | Record<string, string>>; engines: { node: string }; license: string; publishConfig?: { provenance?: boolean } };
    const targets = [...Object.values(pkg.bin), pkg.main, pkg.types, ...Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e)))].map((f) => f.replace(/^\.\//, ''));
    for (const f of targets) assert.ok(files.includes(f), `package.json names ${f}, the tarball lacks it`);
    assert.match(readFileSync(join(REPO, pkg.bin.prodguard), 'utf8').split('\n')[0], /^#!\/usr\/bin\/env node/);
    assert.equal(pkg.engines.node, '>=20');
    assert.equal(pkg.license, 'MIT');
    assert.equal(pkg.publishConfig?.provenance, true);

    // 2. A scratch project with the Supabase CLI's layout, linked to production, URLs in .env.
    const app = join(work, 'acme-app');
    const prodUrl = await createDatabase(cluster(), 'acme_prod');
    const stagingUrl = await createDatabase(cluster(), 'acme_staging');
    const localUrl = await createDatabase(cluster(), 'acme_local');
    const write = (rel: string, text: string) => {
      mkdirSync(dirname(join(app, rel)), { recursive: true });
      writeFileSync(join(app, rel), text);
    };
    write('package.json', JSON.stringify({ name: 'acme-app', version: '1.0.0', private: true }, null, 2) + '\n');
    write('supabase/config.toml', 'project_id = "acme-app"\n\n[db]\nport = 54322\nmajor_version = 15\n');
    write('supabase/.temp/project-ref', 'acmeprodref0000000001\n');
    write('supabase/migrations/20260101000000_init.sql', 'create table public.businesses (id bigint generated always as identity primary key, name text not null);\n');
    write('.env', `PRODUCTION_DATABASE_URL=${prodUrl}\nSTAGING_DATABASE_URL=${stagingUrl}\nLOCAL_DATABASE_URL=${localUrl}\n`);
    write('.gitignore', 'node_modules/\n.env\n');

    // 3. npm i -D ./prodguard-x.y.z.tgz (the README's step), from the cache when it can.
    // better-sqlite3 compiles from source when its prebuilt binary cannot be downloaded: minutes on
    // a loaded 2-core machine. prebuild-install takes a local prebuild instead; the one offered is
    // the binary this repository's own `npm ci` built for the same version and Node ABI (when the
    // versions differ, the name does not match and the install downloads or compiles as usual).
    const prebuilds = join(work, 'prebuilds');
    mkdirSync(prebuilds);
    const sqlite = join(REPO, 'node_modules/better-sqlite3');
    const sqliteVersion = (JSON.parse(readFileSync(join(sqlite, 'package.json'), 'utf8')) as { version: string }).version;
    if (existsSync(join(sqlite, 'build/Release/better_sqlite3.node'))) {
      const name = `better-sqlite3-v${sqliteVersion}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
      const tar = await run('tar', ['-czf', join(prebuilds, name), '-C', sqlite, 'build/Release/better_sqlite3.node'], work);
      assert.equal(tar.code, 0, tar.stderr);
    }
    const tgz = join(work, packed.filename);
    const install = await run('npm', ['install', '--save-dev', tgz, '--prefer-offline', '--no-audit', '--no-fund'], app, {
      npm_config_loglevel: 'error',
      npm_config_update_notifier: 'false',
      npm_config_better_sqlite3_local_prebuilds: prebuilds,
    });
    assert.equal(install.code, 0, install.stdout + install.stderr);
    const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    assert.match(manifest.devDependencies.prodguard ?? '', /prodguard-.*\.tgz$/);

    const npx = (args: string[], env: Record<string, string | undefined> = {}, input = '') => run('npx', ['--no-install', 'prodguard', ...args], app, { CI: 'true', ...env }, input, 120_000);
    // The same variables `set -a; . ./.env; set +a` exports; prodguard itself never reads values into its config.
    const dotenv = readDotenv(join(app, '.env'));

    const help = await npx(['--version']);
    assert.equal(help.code, 0, help.stderr);
    assert.equal(help.stdout.trim(), version);

    // 4. init --yes: the Supabase layout detected, the linked project as production.
    const init = await npx(['init', '--yes', '--senior', 'alice', '--senior', 'bob', '--staging-ref', 'acmestagingref000002']);
    assert.equal(init.code, 0, init.stderr);
    const config = readFileSync(join(app, 'prodguard.yaml'), 'utf8');
    assert.match(config, /layout: supabase/);
    assert.match(config, /supabaseRef: acmeprodref0000000001/);
    assert.match(config, /urlEnv: PRODUCTION_DATABASE_URL/);
    assert.doesNotMatch(config, /postgres(ql)?:\/\//, 'no connection string in prodguard.yaml');
    assert.ok(existsSync(join(app, 'prodguard.schema.json')));
    const gitignore = readFileSync(join(app, '.gitignore'), 'utf8');
    assert.match(gitignore, /^node_modules\/$/m, 'the project\'s own .gitignore lines are kept');
    assert.match(gitignore, /# >>> prodguard >>>[\s\S]*!\.prodguard\/approvals\/[\s\S]*# <<< prodguard <<</);
    assert.match(init.stdout, /next:/);

    const check = await npx(['config', 'check'], dotenv);
    assert.equal(check.code, 0, check.stdout + check.stderr);

    // 5. install claude-code: the hook runs the installed package's own entry, and denies.
    const hook = await npx(['install', 'claude-code']);
    assert.equal(hook.code, 0, hook.stderr);
    const settings = JSON.parse(readFileSync(join(app, '.claude/settings.json'), 'utf8')) as { hooks: { PreToolUse: Array<{ hooks: Array<{ command: string }> }> } };
    const command = settings.hooks.PreToolUse[0].hooks[0].command;
    assert.ok(command.includes(join(app, 'node_modules/prodguard/dist/guard/hook-main.js')), command);
    const payload = (cmd: string) => JSON.stringify({ session_id: 's', transcript_path: '/tmp/t.jsonl', cwd: app, permission_mode: 'default', hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: cmd }, tool_use_id: 't' });
    const denied = await run('sh', ['-c', command], app, {}, payload('supabase db reset --linked'));
    assert.equal(denied.code, 0, denied.stderr);
    assert.equal((JSON.parse(denied.stdout) as { hookSpecificOutput: { permissionDecision: string } }).hookSpecificOutput.permissionDecision, 'deny');
    const allowed = await run('sh', ['-c', command], app, {}, payload('git status'));
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(allowed.stdout.trim(), '');

    // 6. status: the scorecard from the installed package against the real databases.
    const status = await npx(['status', '--json'], dotenv);
    assert.ok(status.code === 0 || status.code === 1, status.stderr);
    const card = JSON.parse(status.stdout) as { rules: Array<{ rule: number; state: string; checks: Array<{ id: string; title: string; state: string; reason: string }> }> };
    assert.deepEqual(card.rules.map((r) => r.rule), [1, 2, 3, 4, 5, 6]);
    const rule1 = card.rules.find((r) => r.rule === 1)!;
    const identifiable = rule1.checks.find((c) => /identifiable/.test(c.title));
    assert.equal(identifiable?.state, 'ok', JSON.stringify(rule1.checks));
    const hooks = rule1.checks.find((c) => /hooks/i.test(c.title));
    assert.equal(hooks?.state, 'ok', JSON.stringify(rule1.checks));
    // A fresh project has no backup yet, and the scorecard says so rather than pretending.
    assert.notEqual(card.rules.find((r) => r.rule === 2)!.state, 'ok');

    // The lockdown SQL shipped in the tarball (src/lockdown/sql) is found by the installed package.
    const plan = await npx(['lockdown', 'plan', '--env', 'production'], dotenv);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /event trigger|EVENT TRIGGER/i);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
