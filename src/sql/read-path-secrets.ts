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
import { collectFacts } from './facts.js';
import { functionName } from './functions.js';
import type { TaggedNode } from './ast.js';

const RELATIONS: Record<string, string> = {
  pg_stat_activity: 'the text of every session’s current statement (a lockdown token SET in another session included)',
  pg_settings: 'every server setting, connection strings (primary_conninfo) and secrets kept in custom settings included',
  pg_db_role_setting: 'the settings stored with ALTER ROLE/DATABASE … SET, where applications keep secrets (app.settings.jwt_secret)',
  pg_stats: 'sample values of every analyzed column',
  pg_stats_ext: 'sample values of every analyzed column',
  pg_stats_ext_exprs: 'sample values of every analyzed column',
};

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
  for (const r of f.relations) {
    const parts = r.toLowerCase().split('.');
    const name = parts[parts.length - 1];
    const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
    const what = RELATIONS_ANY_SCHEMA[name] ?? (schema === undefined || schema === 'pg_catalog' ? RELATIONS[name] : undefined);
    if (what) return `reads ${r}, which holds ${what}`;
  }
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
