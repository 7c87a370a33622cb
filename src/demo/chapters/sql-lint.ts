/**
 * Demo chapter: what prodguard sees in SQL. An agent's queries are classified on PostgreSQL's own
 * parser, then a dangerous migration is linted (and fails), and its safe rewrite passes — with a
 * suppression whose reason lands in the audit log. The safe rewrite is applied to staging.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoChapter, DemoContext } from '../types.js';
import { withClient } from '../../pg/client.js';

const DANGEROUS = `-- orders: add a status and tidy up
alter table orders add column status text not null;
alter table orders alter column total type numeric(12,2);
create index orders_customer_idx on orders (customer_id);
alter table orders drop column legacy_note;
`;

const SAFE = `-- orders: add a status, safely
set lock_timeout = '2s';
alter table orders add column if not exists status text not null default 'open';
alter table orders add column if not exists total_v2 numeric(12,2);
-- prodguard-ignore require-concurrent-index-creation: orders has 2,000 rows; the build takes milliseconds
create index if not exists orders_customer_idx on orders (customer_id);
`;

export const sqlLintChapter: DemoChapter = {
  id: 'sql-lint',
  title: 'Reading SQL like PostgreSQL does: classification and the migration linter',
  async run(demo: DemoContext) {
    const { classify } = await import('../../sql/index.js');
    const { lintFiles, formatText } = await import('../../sql/lint-files.js');

    demo.say('An AI agent wants to run some queries. prodguard parses each with PostgreSQL’s own parser:');
    const queries = [
      'SELECT count(*) FROM orders WHERE total > 100',
      "SELECT nextval('orders_id_seq')",
      'WITH gone AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM gone',
      'SET default_transaction_read_only = off',
    ];
    for (const q of queries) {
      const [s] = await classify(q);
      demo.say(`  ${s.class.padEnd(11)} ${q}\n              ↳ ${s.reason}`);
    }

    // A draft on alice's laptop, not yet a migration: linted where she writes it, then thrown away
    // (left in the migrations folder it would be a pending change staging has never seen).
    const dir = join(demo.projectDir, 'drafts');
    mkdirSync(dir, { recursive: true });
    demo.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const bad = join(dir, 'orders_status.sql');
    writeFileSync(bad, DANGEROUS);
    demo.showCommand(`prodguard lint ${bad.slice(demo.projectDir.length + 1)}`);
    const badRun = await lintFiles([bad], { cwd: demo.projectDir });
    demo.say(formatText(badRun));
    if (badRun.summary.errors < 4) throw new Error(`the dangerous migration should have at least 4 errors, got ${badRun.summary.errors}`);

    writeFileSync(bad, SAFE);
    demo.say('The rewrite: a lock_timeout, a default instead of a bare NOT NULL, a new column instead of a type change, no drop — and one suppression with its reason.');
    demo.showCommand(`prodguard lint ${bad.slice(demo.projectDir.length + 1)}`);
    const goodRun = await lintFiles([bad], { cwd: demo.projectDir });
    demo.say(formatText(goodRun));
    if (goodRun.summary.errors !== 0) throw new Error('the safe migration should lint clean');
    await demo.ctx.audit({
      action: 'sql.lint',
      command: `prodguard lint ${bad}`,
      target: '-',
      verdict: 'ok',
      reason: `1 file(s): 0 error(s), ${goodRun.summary.warnings} warning(s), ${goodRun.summary.suppressed} suppressed`,
      details: { suppressed: goodRun.findings.filter((f) => f.suppressed).map((f) => ({ file: f.file, line: f.line, ruleId: f.ruleId, reason: f.suppressed!.reason })) },
    });

    // The safe migration really applies: on staging, in a transaction that is rolled back, against
    // a scratch copy of the orders table so the demo never depends on how staging was seeded.
    await withClient(demo.staging.url(), async (c) => {
      await c.query('BEGIN');
      try {
        await c.query(`CREATE SCHEMA prodguard_lint_demo;
          SET LOCAL search_path = prodguard_lint_demo;
          CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, total numeric);
          INSERT INTO orders SELECT g, g % 300, g * 1.5 FROM generate_series(1, 2000) g;`);
        await c.query(SAFE);
        const { rows } = await c.query(`SELECT count(*)::int AS n FROM orders WHERE status = 'open'`);
        demo.say(`Applied to staging in a transaction (rolled back for the demo): ${rows[0].n} orders now have status 'open'.`);
      } finally {
        await c.query('ROLLBACK');
      }
    });
    rmSync(dir, { recursive: true, force: true });
  },
};
