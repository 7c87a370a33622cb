import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeProject, minimalConfig } from '../helpers/cli.js';
import { sharedCluster, sql } from '../helpers/pg.js';
import { contextFrom } from '../../src/context.js';
import { loadConfig } from '../../src/config/load.js';
import { sqlLintChapter } from '../../src/demo/chapters/sql-lint.js';
import type { DemoContext } from '../../src/demo/types.js';

const cluster = sharedCluster({ name: 'prodguard-demo-sql' });

test('the sql-lint demo chapter classifies, fails the dangerous migration, passes and applies the safe one', async (t) => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig() });
  t.after(p.cleanup);
  const lines: string[] = [];
  const ctx = contextFrom(loadConfig({ cwd: p.dir }));
  const demo = {
    projectDir: p.dir,
    ctx,
    production: cluster(),
    staging: cluster(),
    env: {},
    say: (l: string) => lines.push(l),
    showCommand: (c: string) => lines.push(`$ ${c}`),
    onCleanup: () => undefined,
    keep: false,
    updateConfig: async () => undefined,
  } as unknown as DemoContext;
  try {
    await sqlLintChapter.run(demo);
    const audit = ctx.auditLog.read().filter((r) => r.action === 'sql.lint');
    assert.equal(audit.length, 1);
    assert.equal((audit[0].details as { suppressed: Array<{ ruleId: string }> }).suppressed[0].ruleId, 'require-concurrent-index-creation');
  } finally {
    await ctx.close();
  }
  const story = lines.join('\n');
  assert.match(story, /destructive\s+WITH gone AS \(DELETE FROM orders/);
  assert.match(story, /privilege\s+SET default_transaction_read_only = off/);
  assert.match(story, /error adding-required-field/);
  assert.match(story, /error changing-column-type/);
  assert.match(story, /error ban-drop-column/);
  assert.match(story, /0 error\(s\), 0 warning\(s\), 1 suppressed/);
  assert.match(story, /2000 orders now have status 'open'/);
  assert.equal((await sql(cluster().url(), `SELECT to_regnamespace('prodguard_lint_demo') AS s`))[0].s, null, 'the demo rolled its changes back');
});
