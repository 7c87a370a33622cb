import type { LintRule } from './types.js';
import { routineSql } from './routine-bodies.js';

function short(q: string): string {
  const t = q.replace(/\s+/g, ' ').trim();
  return t.length > 60 ? t.slice(0, 57) + '…' : t;
}

export const rule: LintRule = {
  id: 'dynamic-sql',
  severity: 'warning',
  title: 'Dynamic SQL (EXECUTE) in a DO block or a function the migration creates',
  explanation:
    'EXECUTE runs a string built at run time: a reviewer reading the migration sees `EXECUTE format(\'drop table %I\', t)`, not which tables it drops, and lint cannot judge what it cannot see. The same holds for a body in a language lint cannot read (plpython, plv8, C). Prefer static statements a reviewer can read; when dynamic SQL is needed, keep the strings it can build small and obvious, and have a careful reviewer read it (`migrate plan` lists it under "needs a careful reviewer").',
  examples: {
    bad: [
      "DO $$ BEGIN EXECUTE 'DROP TABLE ' || 'old_orders'; END $$;",
      "CREATE FUNCTION purge(t text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('TRUNCATE %I', t); END $$;",
      "CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS $$ return 1 $$;",
    ],
    good: [
      'DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = \'mood\') THEN CREATE TYPE mood AS ENUM (\'ok\'); END IF; END $$;',
      'CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql AS $$ SELECT a + b $$;',
    ],
  },
  check: (s, ctx) => {
    const r = routineSql(s, ctx);
    if (!r) return undefined;
    const hits: string[] = r.dynamic.map((q) => `${r.where} runs dynamic SQL: EXECUTE ${short(q)} — what it runs is only known at run time`);
    if (r.opaque) hits.push(r.language === 'plpgsql' ? `${r.where}: its PL/pgSQL body does not parse, so lint cannot see what it runs` : `${r.where} is written in ${r.language}: lint cannot see what it runs`);
    return hits;
  },
};
