/** The sql scorecard check: "migrations lint clean" (rule 5). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checks } from '../../src/status/checks/sql.js';
import { openContext } from '../../src/context.js';
import { makeProject, minimalConfig } from '../helpers/cli.js';

async function runCheck(files: Record<string, string>) {
  const p = makeProject({ 'prodguard.yaml': minimalConfig(), ...files });
  const ctx = openContext({ cwd: p.dir });
  try {
    return await checks[0].run(ctx);
  } finally {
    await ctx.close();
    p.cleanup();
  }
}

describe('status check sql.migrations-lint-clean', () => {
  it('is ok when every migration lints clean', async () => {
    const r = await runCheck({ 'migrations/001.sql': "SET lock_timeout = '2s';\nCREATE TABLE t (id bigint);\n" });
    assert.equal(r.state, 'ok');
    assert.match(r.reason, /1 migration\(s\) lint clean/);
  });

  it('fails and names the first error when a migration has an unsuppressed error', async () => {
    const r = await runCheck({ 'migrations/001.sql': 'DROP TABLE t;\n' });
    assert.equal(r.state, 'failing');
    assert.deepEqual(r.details?.firstErrors, ['migrations/001.sql:1:1 ban-drop-table']);
  });

  it('fails without throwing on unparseable SQL', async () => {
    const r = await runCheck({ 'migrations/001.sql': 'CREATE TABLE (;\n' });
    assert.equal(r.state, 'failing');
    assert.match(r.reason, /001\.sql:1:14: syntax error/);
  });

  it('is missing when the project has no migrations folder', async () => {
    const r = await runCheck({});
    assert.equal(r.state, 'missing');
  });
});
