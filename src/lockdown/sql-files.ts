/**
 * The lockdown's SQL lives in src/lockdown/sql/*.sql, one file per part, so a DBA can read
 * exactly what prodguard installs. This file only fills in the few names from prodguard.yaml
 * (roles, schemas), quoted as identifiers or literals, never spliced raw.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quoteIdent, quoteLiteral } from '../pg/client.js';

export const INSTALL_FILES = ['01-schema.sql', '02-tokens.sql', '03-ddl-guard.sql', '04-truncate-guard.sql', '05-roles.sql', '06-revokes.sql'];
export const LOCKDOWN_VERSION = '1';

export interface LockdownSettings {
  schemas: string[];
  applicationRoles: string[];
  readOnlyRole: string;
  deployerRole: string;
}

/** The sql/ folder beside this module; from dist/ it is the source tree's (tsc copies no .sql). */
function sqlDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const d of [join(here, 'sql'), join(here, '../../src/lockdown/sql')]) if (existsSync(join(d, '01-schema.sql'))) return d;
  throw new Error(`lockdown SQL files not found beside ${here}`);
}

export function readSqlFile(name: string): string {
  return readFileSync(join(sqlDir(), name), 'utf8');
}

function fill(text: string, s: LockdownSettings): string {
  const ro = quoteIdent(s.readOnlyRole);
  const grants = s.schemas
    .map((n) => {
      const q = quoteIdent(n);
      return [
        `GRANT USAGE ON SCHEMA ${q} TO ${ro};`,
        `GRANT SELECT ON ALL TABLES IN SCHEMA ${q} TO ${ro};`,
        `GRANT SELECT ON ALL SEQUENCES IN SCHEMA ${q} TO ${ro};`,
        `ALTER DEFAULT PRIVILEGES IN SCHEMA ${q} GRANT SELECT ON TABLES TO ${ro};`,
      ].join('\n');
    })
    .join('\n');
  const revokes = s.applicationRoles
    .flatMap((r) => [
      ...s.schemas.flatMap((n) => [`REVOKE TRUNCATE, TRIGGER, REFERENCES ON ALL TABLES IN SCHEMA ${quoteIdent(n)} FROM ${quoteIdent(r)};`, `REVOKE CREATE ON SCHEMA ${quoteIdent(n)} FROM ${quoteIdent(r)};`]),
      `REVOKE EXECUTE ON FUNCTION prodguard.issue_token(text, interval, text, text) FROM ${quoteIdent(r)};`,
    ])
    .join('\n');
  return text
    .replaceAll('{{schemas_literal}}', quoteLiteral(s.schemas.join(',')))
    .replaceAll('{{readonly_role}}', ro)
    .replaceAll('{{readonly_literal}}', quoteLiteral(s.readOnlyRole))
    .replaceAll('{{deployer_role}}', quoteIdent(s.deployerRole))
    .replaceAll('{{deployer_literal}}', quoteLiteral(s.deployerRole))
    .replaceAll('{{per_schema_grants}}', grants || '-- (no schemas configured)')
    .replaceAll('{{per_role_revokes}}', revokes || '-- (no lockdown.applicationRoles configured)');
}

export interface PlannedFile {
  file: string;
  sql: string;
}

/** Every file of the install, filled in, in order, plus the version record. */
export function installPlan(s: LockdownSettings): PlannedFile[] {
  const files = INSTALL_FILES.map((f) => ({ file: f, sql: fill(readSqlFile(f), s) }));
  files.push({
    file: '(version record)',
    sql: `INSERT INTO prodguard.lockdown_meta (key, value) VALUES ('lockdown.version', ${quoteLiteral(LOCKDOWN_VERSION)}), ('lockdown.applied_at', clock_timestamp()::text)
ON CONFLICT (key) DO UPDATE SET value = excluded.value;`,
  });
  return files;
}

export function removePlan(): PlannedFile[] {
  return [{ file: 'remove.sql', sql: readSqlFile('remove.sql') }];
}
