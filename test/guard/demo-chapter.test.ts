import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeProject } from '../helpers/cli.js';
import { openContext } from '../../src/context.js';
import { guardChapter } from '../../src/demo/chapters/guard.js';
import type { DemoContext } from '../../src/demo/types.js';

test('the guard demo chapter stops the agent through the hook logic and shows the audit record', async () => {
  const p = makeProject({
    'prodguard.yaml': `version: 1
environments:
  local:
    kind: local
    urlEnv: LOCAL_DATABASE_URL
  production:
    kind: production
    urlEnv: PRODUCTION_DATABASE_URL
    supabaseRef: qwikkerprod123456789
    label: qwikker-prod
`,
    'supabase/.temp/project-ref': 'qwikkerprod123456789\n',
    'supabase/config.toml': '',
  });
  const ctx = openContext({ cwd: p.dir });
  const lines: string[] = [];
  const demo = {
    projectDir: p.dir,
    ctx,
    production: undefined as never,
    staging: undefined as never,
    env: { PRODUCTION_DATABASE_URL: 'postgresql://postgres:pw@127.0.0.1:59999/qwikker', LOCAL_DATABASE_URL: 'postgresql://postgres:postgres@127.0.0.1:54322/postgres' },
    say: (l: string) => lines.push(l),
    showCommand: (c: string) => lines.push(`$ ${c}`),
    onCleanup: () => {},
    keep: false,
    updateConfig: async () => {},
  } satisfies DemoContext;
  try {
    await guardChapter.run(demo);
    const text = lines.join('\n');
    assert.match(text, /hook answered deny: `supabase db reset --linked` drops every user-created table, function and row in the linked project qwikker-prod \(production\)/);
    assert.match(text, /The audit log recorded it: #\d+ .* guard\.hook deny target=production rule=supabase/);
    assert.match(text, /hook allowed it: .*select count/);
    const recs = ctx.auditLog.read().filter((r) => r.action === 'guard.hook');
    // the reset, five disguises of it and an MCP execute_sql DROP TABLE are denied; the read and the local reset pass
    assert.deepEqual(recs.map((r) => r.verdict), ['deny', 'deny', 'deny', 'deny', 'deny', 'deny', 'deny', 'allow', 'allow']);
  } finally {
    await ctx.close();
    p.cleanup();
  }
});
