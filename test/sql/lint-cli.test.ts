/** `prodguard lint` as a user runs it: default folder, formats, exit codes, schemas, audit. */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import Ajv from 'ajv';
import { CLI, makeProject, minimalConfig, runCli, REPO, TSX } from '../helpers/cli.js';

const require = createRequire(import.meta.url);

const MIGRATIONS = {
  'supabase/migrations/20240101000000_init.sql': `create table public.orders (id bigint primary key, user_id bigint, total numeric);
create index orders_user_idx on public.orders (user_id);
`,
  'supabase/migrations/20240201000000_change.sql': `set lock_timeout = '2s';
alter table orders add column status text not null;
-- prodguard-ignore ban-drop-column: total moved to order_totals in 2024-01, no reader left
alter table orders drop column total;
`,
};

/** ajv for the official SARIF 2.1.0 schema (draft-04, shipped by @microsoft/jest-sarif). */
function sarifValidator() {
  const schema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'));
  schema.$id = schema.id;
  delete schema.id;
  delete schema.$schema;
  // unicodeRegExp: false — the official schema's language pattern has a stray ']' that is only valid without the u flag.
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
  ajv.addFormat('uri', (s: string) => URL.canParse(s));
  ajv.addFormat('uri-reference', (s: string) => URL.canParse(s, 'file:///base/'));
  ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
  return ajv.compile(schema);
}

describe('prodguard lint', () => {
  const project = makeProject(MIGRATIONS);
  after(() => project.cleanup());

  it('lints supabase/migrations by default, without a prodguard.yaml, and exits 1 on an error', async () => {
    const r = await runCli(['lint'], { cwd: project.dir });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stdout,
      [
        'supabase/migrations/20240201000000_change.sql:2:31: error adding-required-field: adding NOT NULL column status to orders without a DEFAULT fails on a table with rows',
        '  alter table orders add column status text not null;',
        '                                ^',
        '2 file(s), 5 statement(s): 1 error(s), 0 warning(s), 1 suppressed',
        '',
      ].join('\n'),
    );
    assert.equal(r.stderr, 'prodguard: lint failed: 1 error(s)\n');
  });

  it('exits 0 when only suppressed findings and warnings remain', async () => {
    const p = makeProject({ 'migrations/001.sql': 'ALTER TABLE a ADD COLUMN b int;\n' });
    try {
      const r = await runCli(['lint'], { cwd: p.dir });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^migrations\/001\.sql:1:1: warning require-timeout-settings: /);
    } finally {
      p.cleanup();
    }
  });

  it('--format json validates against docs/schemas/lint-output.schema.json', async () => {
    const r = await runCli(['lint', '--format', 'json'], { cwd: project.dir });
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout);
    const validate = new Ajv({ strict: true }).compile(JSON.parse(readFileSync(join(REPO, 'docs/schemas/lint-output.schema.json'), 'utf8')));
    assert.ok(validate(out), JSON.stringify(validate.errors));
    assert.deepEqual(out.summary, { files: 2, statements: 5, errors: 1, warnings: 0, suppressed: 1 });
    assert.deepEqual(out.findings.find((f: { suppressed?: unknown }) => f.suppressed).suppressed, { reason: 'total moved to order_totals in 2024-01, no reader left' });
  });

  it('--format sarif validates against the SARIF 2.1.0 schema and carries rules, regions and suppressions', async () => {
    const r = await runCli(['lint', 'supabase/migrations', '--format', 'sarif'], { cwd: project.dir });
    assert.equal(r.code, 1);
    const sarif = JSON.parse(r.stdout);
    const validate = sarifValidator();
    assert.equal(validate({ version: '2.1.0', runs: [{ results: [] }] }), false, 'the schema must reject a run without a tool');
    assert.ok(validate(sarif), JSON.stringify(validate.errors?.slice(0, 5)));
    assert.equal(sarif.version, '2.1.0');
    const run = sarif.runs[0];
    const result = run.results.find((x: { ruleId: string }) => x.ruleId === 'adding-required-field');
    assert.deepEqual(result.locations[0].physicalLocation.region, { startLine: 2, startColumn: 31 });
    assert.equal(result.locations[0].physicalLocation.artifactLocation.uri, 'supabase/migrations/20240201000000_change.sql');
    assert.equal(run.tool.driver.rules[result.ruleIndex].id, 'adding-required-field');
    assert.equal(run.results.find((x: { ruleId: string }) => x.ruleId === 'ban-drop-column').suppressions[0].kind, 'inSource');
  });

  it('exits 2 with file:line:column on unparseable SQL', async () => {
    const p = makeProject({ 'bad.sql': 'SELECT 1;\nCREATE TABLE (;\n' });
    try {
      const r = await runCli(['lint', 'bad.sql'], { cwd: p.dir });
      assert.equal(r.code, 2);
      assert.equal(r.stderr, 'prodguard: bad.sql:2:14: syntax error at or near "("\n');
    } finally {
      p.cleanup();
    }
  });

  it('exits 2 on a missing path, a bad --format, or no migrations folder', async () => {
    const p = makeProject({});
    try {
      assert.equal((await runCli(['lint', 'nope.sql'], { cwd: p.dir })).code, 2);
      assert.equal((await runCli(['lint', '--format', 'xml'], { cwd: project.dir })).code, 2);
      const r = await runCli(['lint'], { cwd: p.dir });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /no migrations folder found/);
    } finally {
      p.cleanup();
    }
  });

  it('reads standard input for the path -', async () => {
    const r = await runCli(['lint', '-'], { cwd: project.dir, input: "SET lock_timeout = '1s';\nDELETE FROM sessions;\n" });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^<stdin>:2:1: error ban-delete-without-where: DELETE without WHERE deletes every row of sessions\n  DELETE FROM sessions;\n  \^\n/);
  });

  it('writes its whole report into a pipe that is read slowly, also when it then exits 1', async () => {
    // ~1,500 findings: a JSON report far larger than a pipe's 64 KiB buffer. The reader waits
    // before reading, so the CLI's first write cannot take it all; before the fix, the error exit
    // dropped what was still queued and the reader got a cut document.
    const n = 1500;
    const sql = Array.from({ length: n }, (_v, i) => `ALTER TABLE orders ADD COLUMN c${i} text NOT NULL;`).join('\n') + '\n';
    const p = makeProject({ 'migrations/001.sql': sql });
    try {
      const child = spawn(process.execPath, ['--import', TSX, CLI, 'lint', '--runner', 'none', '--format', 'json', 'migrations'], { cwd: p.dir, stdio: ['ignore', 'pipe', 'pipe'] });
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      child.stdout.pause();
      let stdout = '';
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
      // Start reading only once the report has filled the pipe (or after 20 s at the latest).
      const started = Date.now();
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (child.stdout.readableLength > 0 || Date.now() - started > 20_000) (clearInterval(poll), resolve());
        }, 50);
      });
      await new Promise((r) => setTimeout(r, 300));
      for await (const chunk of child.stdout.setEncoding('utf8')) stdout += chunk;
      const code = await closed;
      assert.equal(code, 1, stderr);
      assert.ok(stdout.length > 256 * 1024, `report of ${stdout.length} bytes`);
      const report = JSON.parse(stdout);
      assert.equal(report.findings.filter((f: { ruleId: string }) => f.ruleId === 'adding-required-field').length, n);
    } finally {
      p.cleanup();
    }
  });

  it('the bundled lean path of the build (dist/sql/lint-cli.bundle.js) reports exactly what the modules do', async (t) => {
    const bundle = join(REPO, 'dist/sql/lint-cli.bundle.js');
    if (!existsSync(bundle)) return t.skip('no build: npm ci / npm run build makes it');
    const p = makeProject({ ...MIGRATIONS, 'supabase/migrations/20240301000000_fn.sql': "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'DROP TABLE ' || quote_ident('x'); SET ROLE admin; END $$;\n" });
    // Both from the same build: the bundle through the CLI, the modules it was made from called directly.
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, args, { cwd: p.dir, stdio: ['ignore', 'pipe', 'ignore'] });
        let stdout = '';
        child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
        child.on('close', (code) => resolve({ code, stdout }));
      });
    try {
      const bundled = await run([join(REPO, 'dist/cli/main.js'), 'lint', '--format', 'json']);
      const modules = await run(['--input-type=module', '-e', `const { lintCommand } = await import(${JSON.stringify(pathToFileURL(join(REPO, 'dist/sql/lint-cli.js')).href)}); await lintCommand(['--format', 'json']).catch(() => (process.exitCode = 1));`]);
      assert.equal(bundled.code, 1);
      assert.equal(modules.code, 1);
      assert.equal(bundled.stdout, modules.stdout);
      assert.ok(JSON.parse(bundled.stdout).findings.some((f: { ruleId: string }) => f.ruleId === 'ban-role-switching'));
    } finally {
      p.cleanup();
    }
  });

  it('--rules lists every rule, as text and JSON', async () => {
    const text = await runCli(['lint', '--rules']);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^ban-drop-column\s+error\s+Dropping a column$/m);
    const json = JSON.parse((await runCli(['lint', '--rules', '--json'])).stdout);
    assert.ok(json.length >= 20);
    assert.ok(json.every((r: { examples: { bad: string[] } }) => r.examples.bad.length > 0));
  });

  it('with a prodguard.yaml: lints project.migrationsDir and audits the run with the suppression reasons', async () => {
    const p = makeProject({ 'prodguard.yaml': minimalConfig().replace('  name: acme', '  name: acme\n  migrationsDir: db/migrations'), 'db/migrations/001.sql': MIGRATIONS['supabase/migrations/20240201000000_change.sql'] });
    try {
      const r = await runCli(['lint'], { cwd: p.dir });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /^db\/migrations\/001\.sql:2:31: error adding-required-field/);
      const tail = await runCli(['audit', 'tail', '--json'], { cwd: p.dir });
      const rec = JSON.parse(tail.stdout).find((x: { action: string }) => x.action === 'sql.lint');
      assert.equal(rec.verdict, 'failed');
      assert.deepEqual(rec.details.suppressed, [{ file: 'db/migrations/001.sql', line: 4, ruleId: 'ban-drop-column', reason: 'total moved to order_totals in 2024-01, no reader left' }]);
    } finally {
      p.cleanup();
    }
  });
});
