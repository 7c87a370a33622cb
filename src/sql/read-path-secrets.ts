/**
 * What the read-only paths (`prodguard gateway`, `prodguard mcp`) refuse on top of the classifier.
 *
 * These reads are ordinary monitoring for someone who holds production's connection string, and
 * the command guard lets a developer with the URL run them. Through a gateway or an agent's MCP
 * server they are different: the user reads with the gateway's credentials, often a superuser's
 * (a shadow, a Supabase `postgres` URL), and would get what those credentials see and the user
 * must not (red team w5d):
 *   - other sessions' statement text: a lockdown token SET in a deploy or break-glass session;
 *   - every server setting: a standby's primary_conninfo with its password, secrets applications
 *     keep in custom settings (Supabase's app.settings.jwt_secret, set with ALTER DATABASE … SET);
 *   - column statistics: sample values of any column, of catalogs the classifier refuses too.
 * Named settings that hold nothing secret (`SHOW search_path`, `current_setting('work_mem')`)
 * stay readable.
 */
import { collectFacts, relationName } from './facts.js';
import { functionName } from './functions.js';
import type { TaggedNode } from './ast.js';

const RELATIONS: Record<string, string> = {
  pg_db_role_setting: 'the settings stored with ALTER ROLE/DATABASE … SET, where applications keep secrets (app.settings.jwt_secret)',
  pg_stats: 'sample values of every analyzed column',
  pg_stats_ext: 'sample values of every analyzed column',
  pg_stats_ext_exprs: 'sample values of every analyzed column',
};

/**
 * Relations of which only some columns hold a secret: refused when a statement names one of those
 * columns, or reads whole rows of anything (`*`, `t.*`, `TABLE x`, a row as a value: `to_json(t)`),
 * so `SELECT count(*) FROM pg_stat_activity` or `SELECT proname FROM pg_proc` stay readable
 * (red team w6d-758..763) while the text of other sessions, function source (a dblink or API
 * password written into a SECURITY DEFINER body: w6d-050/051/130/223) and role settings
 * (`rolconfig`: w6d-083/299) are not. Column names are matched wherever they appear in the
 * statement (fail closed: a column of the same name in another table is refused too).
 */
const SECRET_COLUMNS: Record<string, { schema: string; columns: string[]; what: string }> = {
  pg_stat_activity: { schema: 'pg_catalog', columns: ['query'], what: 'the text of every session’s current statement (a lockdown token SET in another session included)' },
  pg_settings: { schema: 'pg_catalog', columns: ['setting', 'reset_val', 'boot_val'], what: 'every server setting, connection strings (primary_conninfo) and secrets kept in custom settings included' },
  pg_proc: { schema: 'pg_catalog', columns: ['prosrc', 'prosqlbody', 'probin', 'proconfig'], what: 'the source of every function and its SET clauses (a password written into a body or a SET included)' },
  pg_roles: { schema: 'pg_catalog', columns: ['rolconfig'], what: 'the settings stored with ALTER ROLE … SET, where applications keep secrets' },
  pg_user: { schema: 'pg_catalog', columns: ['useconfig'], what: 'the settings stored with ALTER ROLE … SET, where applications keep secrets' },
  routines: { schema: 'information_schema', columns: ['routine_definition'], what: 'the source of every function (a password written into a body included)' },
};

interface ColumnUse {
  /** Every name in a column reference (`t.col` gives t and col). */
  names: Set<string>;
  /** Names referenced alone (`col`, or a relation/alias used as a whole row: `to_json(t)`). */
  bare: Set<string>;
  /** Relation names and aliases in FROM. */
  rowNames: Set<string>;
  /** `*` or `t.*` somewhere. */
  star: boolean;
  /** A table's or a join's alias list renames columns (`pg_proc AS p(a, b, c)`): any name may then be a secret column. */
  renamedAny: boolean;
}

/** Every column name a statement references, and whether it reads whole rows (`*`). */
function columnUse(node: unknown): ColumnUse {
  const use: ColumnUse = { names: new Set(), bare: new Set(), rowNames: new Set(), star: false, renamedAny: false };
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (v === null || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    for (const key in o) {
      const child = o[key];
      if (child === null || typeof child !== 'object') continue;
      if (key === 'ColumnRef') {
        const fields = ((child as { fields?: unknown[] }).fields ?? []) as Array<Record<string, unknown>>;
        for (const f of fields) {
          if (f && 'A_Star' in f) use.star = true;
          const sval = (f?.String as { sval?: string } | undefined)?.sval;
          if (typeof sval === 'string') {
            use.names.add(sval.toLowerCase());
            if (fields.length === 1) use.bare.add(sval.toLowerCase());
          }
        }
      } else if (key === 'A_Indirection') {
        // (x).col names col as a field, not a column reference.
        for (const f of ((child as { indirection?: unknown[] }).indirection ?? []) as Array<Record<string, unknown>>) {
          const sval = (f?.String as { sval?: string } | undefined)?.sval;
          if (typeof sval === 'string') use.names.add(sval.toLowerCase());
        }
      } else if (key === 'RangeVar') {
        const rv = child as { relname?: string };
        if (rv.relname) use.rowNames.add(rv.relname.toLowerCase());
      } else if (key === 'JoinExpr') {
        // NATURAL and USING compare columns by name without naming them in a reference: an
        // equality oracle on a secret column (red team w6b-237/239/251).
        const j = child as { isNatural?: boolean; usingClause?: unknown[] };
        if (j.isNatural) use.star = true;
        for (const u of (j.usingClause ?? []) as Array<Record<string, unknown>>) {
          const sval = (u?.String as { sval?: string } | undefined)?.sval;
          if (typeof sval === 'string') use.names.add(sval.toLowerCase());
        }
      } else if (key === 'CommonTableExpr') {
        const cte = child as { ctename?: string };
        if (cte.ctename) use.rowNames.add(cte.ctename.toLowerCase());
      }
      // Any FROM item's alias — a table's, a join's (`(pg_proc CROSS JOIN x) AS j`: red team
      // w6b-015), a sub-select's, a function's — used as a value is a whole row (to_json(j),
      // j::text, (j).prosrc); an alias list renames columns positionally (w6b-045, 201).
      if (key === 'alias') {
        const a = child as { aliasname?: string; colnames?: unknown[] };
        if (a.aliasname) use.rowNames.add(a.aliasname.toLowerCase());
        if (a.colnames?.length && ('relname' in o || 'larg' in o)) use.renamedAny = true;
      }
      visit(child);
    }
  };
  visit(node);
  return use;
}

/** `COPY t TO …` names its columns as plain strings (none: every column), not as column references. */
function copyColumns(s: TaggedNode, use: ColumnUse): void {
  if (s.kind !== 'CopyStmt' || !s.node.relation || s.node.query) return;
  const cols = (s.node.attlist ?? []).map((a) => String((a as { String?: { sval?: string } }).String?.sval ?? '').toLowerCase());
  if (cols.length === 0) use.star = true;
  for (const c of cols) use.names.add(c);
}

/** Does the statement read a secret column (or whole rows) of a relation in SECRET_COLUMNS? */
function secretColumnRead(s: TaggedNode, relations: string[]): string | null {
  const node = s.node;
  let use: ColumnUse | undefined;
  for (const r of relations) {
    const parts = r.toLowerCase().split('.');
    const name = parts[parts.length - 1];
    const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
    const entry = SECRET_COLUMNS[name];
    if (!entry || (schema !== undefined && schema !== entry.schema)) continue;
    if (!use) copyColumns(s, (use = columnUse(node)));
    if (use.renamedAny) return `renames columns with an alias list while reading ${r} (which holds ${entry.what}); name the columns you need`;
    const named = entry.columns.find((c) => use!.names.has(c));
    const wholeRow = use.star || [...use.rowNames].some((a) => use!.bare.has(a));
    if (named) return `reads ${r}.${named}, which holds ${entry.what}`;
    if (wholeRow) return `reads whole rows of ${r} (with ${entry.columns.join(', ')}), which hold ${entry.what}; name the columns you need`;
  }
  return null;
}

/** Wherever the extension was installed. */
const RELATIONS_ANY_SCHEMA: Record<string, string> = {
  pg_stat_statements: 'the text of statements every session ran (a SET of a lockdown token included)',
};

const FUNCTIONS: Record<string, string> = {
  pg_stat_get_activity: 'returns the text of every session’s current statement',
  pg_stat_get_backend_activity: 'returns the text of another session’s current statement',
  pg_show_all_settings: 'lists every setting, connection strings (primary_conninfo) included',
  pg_show_all_file_settings: 'reads the server’s configuration files',
  pg_hba_file_rules: 'reads the server’s pg_hba.conf',
  pg_ident_file_mappings: 'reads the server’s pg_ident.conf',
  pg_get_functiondef: 'returns a function’s source (a password written into a body included)',
  pg_get_function_sqlbody: 'returns a function’s source (a password written into a body included)',
  pg_config: 'lists how and where the server was built and installed',
};

/** Settings whose value is a credential, or a command or connection string that may carry one. */
const SECRET_SETTINGS = new Set(['primary_conninfo', 'ssl_passphrase_command', 'archive_command', 'restore_command', 'archive_cleanup_command', 'recovery_end_command']);

/** Why reading the setting `name` (SHOW, current_setting) is refused on a read-only path, or null. */
export function secretSetting(name: string): string | null {
  const n = name.toLowerCase();
  if (n === 'all') return 'SHOW ALL lists every setting, connection strings (primary_conninfo) and secrets kept in custom settings included';
  if (SECRET_SETTINGS.has(n)) return `the setting ${n} may hold a password or a command with credentials`;
  // Custom settings (a dot in the name): where applications keep API keys and JWT secrets, and
  // where the lockdown token lives (prodguard.token).
  if (n.includes('.')) return `the custom setting ${n} may hold a secret (applications keep API keys and JWT secrets in custom settings)`;
  return null;
}

/** Why a read-only path refuses this statement although the classifier calls it a read, or null. */
export function readPathSecret(s: TaggedNode): string | null {
  if (s.kind === 'VariableShowStmt') return secretSetting(String(s.node.name ?? ''));
  const f = collectFacts(s.node);
  // `COPY t TO …` holds its table bare (not as a wrapped RangeVar): the walk above does not see it.
  const relations = s.kind === 'CopyStmt' && s.node.relation ? [...f.relations, relationName(s.node.relation)] : f.relations;
  for (const r of relations) {
    const parts = r.toLowerCase().split('.');
    const name = parts[parts.length - 1];
    const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
    const what = RELATIONS_ANY_SCHEMA[name] ?? (schema === undefined || schema === 'pg_catalog' ? RELATIONS[name] : undefined);
    if (what) return `reads ${r}, which holds ${what}`;
  }
  const column = secretColumnRead(s, relations);
  if (column) return column;
  for (let i = 0; i < f.functions.length; i++) {
    const { schema, name } = functionName(f.functions[i]);
    if (name === 'pg_stat_statements') return 'pg_stat_statements() returns the text of statements every session ran';
    if (schema !== undefined && schema !== 'pg_catalog') continue;
    const what = FUNCTIONS[name];
    if (what) return `${name}() ${what}`;
    if (name === 'current_setting') {
      const arg = f.firstArgs[i];
      if (typeof arg !== 'string') return 'current_setting() of a setting named at run time (it could be one that holds a secret)';
      const secret = secretSetting(arg);
      if (secret) return `current_setting('${arg}'): ${secret}`;
    }
  }
  return null;
}
