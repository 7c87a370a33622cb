import type { LintRule } from './types.js';
import { statementsWithin } from './routine-bodies.js';
import { asNode, type Node, type NodeOf } from '../ast.js';

/** Role attributes that put a role above the database's own checks (row security, grants, replication). */
const POWERFUL = new Set(['superuser', 'createrole', 'replication', 'bypassrls']);
/** Privileges that change data or schema; granted to PUBLIC they reach every role, present and future. */
const WRITE_PRIVILEGES = new Set(['insert', 'update', 'delete', 'truncate', 'create', 'references', 'trigger', 'usage']);

type RoleSpec = NodeOf<'RoleSpec'>;
const roleName = (r: RoleSpec | undefined): string => (r?.roletype === 'ROLESPEC_PUBLIC' ? 'PUBLIC' : String(r?.rolename ?? r?.roletype ?? '?').replace(/^ROLESPEC_/, '').toLowerCase());

function roleOptions(verb: 'CREATE ROLE' | 'ALTER ROLE', name: string, options: Node[] | undefined, at: string): string[] {
  const hits: string[] = [];
  for (const o of options ?? []) {
    const d = asNode(o, 'DefElem');
    if (!d?.defname) continue;
    if (POWERFUL.has(d.defname) && asNode(d.arg, 'Boolean')?.boolval) hits.push(`${verb} ${name} ${d.defname.toUpperCase()}${at}: the role bypasses the database's own restrictions`);
    if (d.defname === 'password' && d.arg) hits.push(`${verb} ${name} … PASSWORD${at}: the password lands in the repository, the migration history and every backup`);
  }
  return hits;
}

export const rule: LintRule = {
  id: 'ban-privilege-escalation',
  severity: 'error',
  title: 'Privilege escalation in a migration (powerful role attributes, passwords, grants to PUBLIC, role membership, prodguard’s own tables)',
  explanation:
    'A migration is reviewed as a schema change, yet it runs as the deploy role, which can hand out power: a role made `SUPERUSER`, `BYPASSRLS`, `REPLICATION` or `CREATEROLE` is above row security and grants; `GRANT <role> TO …` gives every privilege of that role; write privileges granted to `PUBLIC` reach every role, present and future; a `PASSWORD` in a migration is a credential in the repository and in every backup; and writes to `prodguard.*` (the migration history, the policy pin, lockdown tokens) forge the records the deploy gate and status read. An agent asked to "just make it work" reaches for exactly these. Manage roles and credentials outside migrations (the provider\'s console, a secrets manager, `prodguard lockdown`), or suppress with a reason a second reviewer checks.',
  examples: {
    bad: [
      "CREATE ROLE agent SUPERUSER LOGIN PASSWORD 'agent';",
      "ALTER ROLE postgres PASSWORD 'x';",
      'ALTER ROLE reporting BYPASSRLS;',
      'GRANT ALL ON ALL TABLES IN SCHEMA public TO PUBLIC;',
      'GRANT postgres TO agent;',
      "INSERT INTO prodguard.schema_migrations (version, name) VALUES ('0009', 'x');",
    ],
    good: ['GRANT SELECT ON orders TO reporting;', 'CREATE ROLE reporting NOLOGIN;', 'REVOKE ALL ON orders FROM PUBLIC;', 'GRANT SELECT ON orders TO PUBLIC;'],
  },
  check: (s, ctx) => {
    const hits: string[] = [];
    for (const { stmt: e, where } of statementsWithin(s, ctx)) {
      const at = where ? ` in ${where}` : '';
      if (e.kind === 'CreateRoleStmt') hits.push(...roleOptions('CREATE ROLE', String(e.node.role), e.node.options, at));
      if (e.kind === 'AlterRoleStmt') hits.push(...roleOptions('ALTER ROLE', roleName(e.node.role), e.node.options, at));
      if (e.kind === 'GrantRoleStmt' && e.node.is_grant) {
        const roles = (e.node.granted_roles ?? []).map((r) => String(asNode(r, 'AccessPriv')?.priv_name ?? '?'));
        const to = (e.node.grantee_roles ?? []).map((r) => roleName(asNode(r, 'RoleSpec'))).join(', ');
        hits.push(`GRANT ${roles.join(', ')} TO ${to}${at}: membership gives every privilege of ${roles.length > 1 ? 'those roles' : 'that role'}`);
      }
      if (e.kind === 'GrantStmt' && e.node.is_grant && (e.node.grantees ?? []).some((g) => asNode(g, 'RoleSpec')?.roletype === 'ROLESPEC_PUBLIC')) {
        const privs = (e.node.privileges ?? []).map((p) => String(asNode(p, 'AccessPriv')?.priv_name ?? '').toLowerCase());
        const all = privs.length === 0;
        const writes = privs.filter((p) => WRITE_PRIVILEGES.has(p) || p === 'all');
        if (all || writes.length) hits.push(`GRANT ${all ? 'ALL' : writes.map((p) => p.toUpperCase()).join(', ')} … TO PUBLIC${at}: every role, present and future, gets it`);
      }
      if (e.kind === 'InsertStmt' || e.kind === 'UpdateStmt' || e.kind === 'DeleteStmt' || e.kind === 'MergeStmt') {
        const rel = e.node.relation;
        if (rel?.schemaname === 'prodguard') hits.push(`${e.kind.replace('Stmt', '').toUpperCase()} on prodguard.${rel.relname}${at}: writes prodguard's own records (migration history, policy pin, tokens) that the deploy gate and status trust`);
      }
    }
    return [...new Set(hits)];
  },
};
