/**
 * CI identity from the CI platform, not from the environment: a production deploy proves it runs
 * in the team's pipeline with an OIDC token the platform signed (GitHub Actions `id-token: write`,
 * GitLab `id_tokens:`), verified with `jose` against the keys the issuer publishes (discovery →
 * jwks_uri), and its claims checked against the policy in force: repository, protected ref,
 * environment, workflow. `CI=true` is read nowhere here.
 *
 * Where the token comes from:
 *   - PRODGUARD_OIDC_TOKEN (GitLab: `id_tokens: PRODGUARD_OIDC_TOKEN: { aud: prodguard }`);
 *   - GitHub's request endpoint (ACTIONS_ID_TOKEN_REQUEST_URL + ACTIONS_ID_TOKEN_REQUEST_TOKEN),
 *     asking for the policy's audience.
 */
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { OidcPolicy } from './document.js';
import { errorMessage } from '../errors.js';

export interface CiIdentity {
  issuer: string;
  subject: string;
  provider: 'github' | 'gitlab';
  repository: string;
  ref: string;
  environment: string;
  /** GitHub job_workflow_ref / GitLab pipeline source, for the audit. */
  workflow: string | null;
  runId: string | null;
  /**
   * What makes this token one token: its `jti` (GitHub and GitLab both set one), else a hash of the
   * token itself. A deploy claims it in production (ci-token-use.ts), so a captured token cannot be
   * replayed from a laptop for a second deploy while it is still valid (red team ap-067).
   */
  tokenId: string;
}

export class CiIdentityError extends Error {}

type Env = Record<string, string | undefined>;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** https only, except loopback (the tests' local issuer): a token's keys must not come over plain HTTP. */
export function checkIssuerUrl(issuer: string): URL {
  let u: URL;
  try {
    u = new URL(issuer);
  } catch {
    throw new CiIdentityError(`issuer "${issuer}" is not a URL`);
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK.has(u.hostname))) throw new CiIdentityError(`issuer ${issuer} must use https`);
  return u;
}

export async function obtainCiToken(audience: string, env: Env = process.env): Promise<string | null> {
  if (env.PRODGUARD_OIDC_TOKEN) return env.PRODGUARD_OIDC_TOKEN.trim();
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !bearer) return null;
  const u = new URL(url);
  u.searchParams.set('audience', audience);
  const res = await fetch(u, { headers: { authorization: `bearer ${bearer}`, accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new CiIdentityError(`the CI platform refused an OIDC token (HTTP ${res.status}); does the job have permissions: id-token: write?`);
  const body = (await res.json()) as { value?: string };
  if (!body.value) throw new CiIdentityError('the CI platform answered without a token');
  return body.value;
}

const jwksByUri = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

async function jwksFor(issuer: string) {
  const base = checkIssuerUrl(issuer);
  const disco = new URL(base.href.replace(/\/$/, '') + '/.well-known/openid-configuration');
  const res = await fetch(disco, { signal: AbortSignal.timeout(10_000) }).catch((err: Error) => {
    throw new CiIdentityError(`cannot reach the issuer's discovery document ${disco.href}: ${err.message}`);
  });
  if (!res.ok) throw new CiIdentityError(`the issuer's discovery document ${disco.href} answered HTTP ${res.status}`);
  const doc = (await res.json()) as { issuer?: string; jwks_uri?: string };
  if (doc.issuer !== issuer) throw new CiIdentityError(`the discovery document names issuer ${doc.issuer}, not ${issuer}`);
  if (!doc.jwks_uri) throw new CiIdentityError('the discovery document has no jwks_uri');
  const jwksUri = checkIssuerUrl(doc.jwks_uri);
  let set = jwksByUri.get(jwksUri.href);
  if (!set) jwksByUri.set(jwksUri.href, (set = createRemoteJWKSet(jwksUri, { timeoutDuration: 10_000 })));
  return set;
}

const str = (v: unknown) => (typeof v === 'string' ? v : null);

/** What the policy requires of the claims; each mismatch named. */
export function claimProblems(c: JWTPayload, p: OidcPolicy): string[] {
  const out: string[] = [];
  const expect = (name: string, actual: unknown, wanted: string) => {
    if (actual !== wanted) out.push(`${name} is ${actual === undefined ? 'missing' : JSON.stringify(actual)}, the policy requires ${JSON.stringify(wanted)}`);
  };
  if (p.provider === 'github') {
    expect('repository', c.repository, p.repository);
    expect('ref', c.ref, p.ref);
    expect('environment', c.environment, p.environment);
    if (c.event_name === 'pull_request' || c.event_name === 'pull_request_target') out.push(`event_name is ${c.event_name}: pull-request runs never deploy`);
    if (p.workflow) {
      // The workflow file's own ref is pinned too (red team ap-028): a prodguard.yml from a PR merge
      // ref or an unprotected branch, called as a reusable workflow, is not the team's deploy job.
      // A workflow pinned with its own @ref (a central reusable workflow) must match exactly.
      const wanted = p.workflow.includes('@') ? p.workflow : `${p.workflow}@${p.ref}`;
      const w = str(c.job_workflow_ref);
      if (w !== wanted) out.push(`job_workflow_ref is ${JSON.stringify(c.job_workflow_ref)}, the policy requires ${wanted}`);
    }
    // The immutable ids GitHub recommends pinning (red team ap-075): a deleted and re-created
    // (or renamed) repository of the same name carries new ids. Checked when the policy pins them.
    if (p.repositoryId !== undefined) expect('repository_id', c.repository_id, p.repositoryId);
    if (p.repositoryOwnerId !== undefined) expect('repository_owner_id', c.repository_owner_id, p.repositoryOwnerId);
  } else {
    expect('project_path', c.project_path, p.repository);
    expect('ref', c.ref, p.ref);
    if (c.ref_protected !== 'true' && c.ref_protected !== true) out.push('ref_protected is not true: deploys run only from a protected ref');
    expect('environment', c.environment, p.environment);
  }
  return out;
}

/** Verifies a token's signature (issuer's published keys), issuer, audience, lifetime and claims. */
export async function verifyCiToken(token: string, p: OidcPolicy): Promise<CiIdentity> {
  const jwks = await jwksFor(p.issuer);
  let payload: JWTPayload;
  try {
    // maxTokenAge also makes jose refuse an `iat` in the future (red team w5c-068: a token dated 2100 was accepted).
    ({ payload } = await jwtVerify(token, jwks, { issuer: p.issuer, audience: p.audience, algorithms: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'PS256'], clockTolerance: 60, maxTokenAge: 86_400, requiredClaims: ['sub', 'exp', 'iat'] }));
  } catch (err) {
    throw new CiIdentityError(`OIDC token rejected: ${errorMessage(err)}`);
  }
  const problems = claimProblems(payload, p);
  if (problems.length) throw new CiIdentityError(`OIDC token from ${p.issuer} is not the team's deploy job: ${problems.join('; ')}`);
  return {
    issuer: p.issuer,
    subject: payload.sub!,
    provider: p.provider,
    repository: p.repository,
    ref: p.ref,
    environment: p.environment,
    workflow: str(payload.job_workflow_ref) ?? str(payload.pipeline_source),
    runId: str(payload.run_id) ?? str(payload.pipeline_id),
    tokenId: str(payload.jti) ? `jti:${payload.jti}` : `sha256:${createHash('sha256').update(token).digest('hex')}`,
  };
}

/** The gate's [ci] check. */
export async function proveCiIdentity(p: OidcPolicy | null | undefined, env: Env = process.env): Promise<{ ok: boolean; detail: string; identity: CiIdentity | null }> {
  if (!p) return { ok: false, identity: null, detail: 'the policy in force names no CI identity (policy.oidc); production deploys need the CI platform\'s OIDC token' };
  let token: string | null;
  try {
    token = await obtainCiToken(p.audience, env);
  } catch (err) {
    return { ok: false, identity: null, detail: `not running in CI: ${errorMessage(err)}` };
  }
  if (!token) {
    return { ok: false, identity: null, detail: 'not running in CI: no OIDC token from the CI platform (CI=true alone is not proof; the deploy job needs id-token: write, or PRODGUARD_OIDC_TOKEN from GitLab id_tokens)' };
  }
  try {
    const identity = await verifyCiToken(token, p);
    return { ok: true, identity, detail: `CI identity proved by ${p.issuer}: ${identity.subject}` };
  } catch (err) {
    return { ok: false, identity: null, detail: err instanceof CiIdentityError ? err.message : `OIDC verification failed: ${errorMessage(err)}` };
  }
}
