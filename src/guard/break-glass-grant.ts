/**
 * The one place the guard honours a break-glass grant (kept separate so the guard rewrite can
 * merge it as is). Under an open break-glass grant for the environment a denied command targets,
 * held by the person running it, the tools people need in an incident are allowed:
 *  - psql statements that change rows (a hot-fix UPDATE/INSERT/DELETE … WHERE …),
 *  - psql calls of pg_cancel_backend / pg_terminate_backend.
 * Everything that destroys a database wholesale (dropdb, db reset, pg_restore --clean, DROP,
 * TRUNCATE, rm of the data directory) stays denied even under the grant: restore --replace is
 * the way to replace production. Only denials are lifted, never a backup-first.
 */
import type { LoadedConfig } from '../config/load.js';
import type { GuardDecision, JudgedFinding } from './decide.js';
import { contextFrom } from '../context.js';
import { grantIsActive, listGrants } from '../grants/grants.js';

const INCIDENT_FUNCTIONS = /\bpg_(cancel|terminate)_backend\s*\(/i;
const NEVER_UNDER_GRANT = /\b(DROP|TRUNCATE|ALTER|GRANT|REVOKE|CREATE|COPY|VACUUM|REINDEX|CLUSTER|DO|CALL|SET\s+ROLE|RESET)\b/i;

function liftable(f: JudgedFinding): boolean {
  if (f.ruleId !== 'psql') return false;
  if (NEVER_UNDER_GRANT.test(f.command)) return false;
  if (f.risk === 'change') return true;
  return f.risk === 'destructive' && INCIDENT_FUNCTIONS.test(f.command) && !/\b(DELETE|UPDATE|INSERT)\b/i.test(f.command);
}

export type GrantedDecision = GuardDecision & { grantId?: string };

export async function applyBreakGlassGrant(loaded: LoadedConfig | null, d: GuardDecision, actor: string): Promise<GrantedDecision> {
  if (!loaded || d.decision !== 'deny' || !d.target.name) return d;
  const denied = d.findings.filter((f) => f.decision === 'deny');
  if (denied.length === 0 || !denied.every((f) => f.target.name === d.target.name && liftable(f))) return d;
  const { isSamePerson } = await import('../migrate/approvals.js');
  const ctx = contextFrom(loaded);
  try {
    const grants = (await listGrants(await ctx.store(), { env: d.target.name })).filter((g) => g.kind === 'break-glass' && grantIsActive(g));
    const g = grants.find((x) => {
      const m = loaded.config.team.find((t) => t.name === x.person);
      return m ? isSamePerson(m, actor) : x.person === actor;
    });
    if (!g) return d;
    return { ...d, decision: 'allow', reason: `allowed under break-glass grant ${g.id} (${g.person}, until ${g.expiresAt}); denied otherwise: ${d.reason}`, grantId: g.id };
  } finally {
    await ctx.close();
  }
}
