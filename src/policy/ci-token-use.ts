/**
 * One CI token, one deploy (red team ap-067). An OIDC token is a bearer token: whoever captures a
 * deploy job's token (a log, a debug step, a compromised action) could replay it from a laptop
 * until it expires, and the gate's [ci] check would pass. After the gate passes, the deploy
 * claims the token's id in production's `prodguard.ci_token_use`; a second claim is refused.
 * Production, not the team store, keeps the row: the store is writable by every developer.
 */
import { withClient } from '../pg/client.js';
import type { CiIdentity } from './oidc.js';
import { CLAIM_CI_TOKEN_SQL, CREATE_CI_TOKEN_USE_SQL, READ_CI_TOKEN_USE_SQL } from './sql/ci-token-use.js';

/** null when the token is claimed now; else why it cannot be used again. */
export async function claimCiToken(url: string, identity: CiIdentity, changeHash: string): Promise<string | null> {
  return withClient(url, async (c) => {
    await c.query(CREATE_CI_TOKEN_USE_SQL);
    const claimed = await c.query(CLAIM_CI_TOKEN_SQL, [identity.tokenId, identity.issuer, identity.subject, identity.runId, changeHash]);
    if (claimed.rowCount === 1) return null;
    const prior = (await c.query(READ_CI_TOKEN_USE_SQL, [identity.tokenId])).rows[0] as { used_at: Date; change_hash: string; run_id: string | null } | undefined;
    const when = prior ? ` at ${new Date(prior.used_at).toISOString()} for change ${prior.change_hash.slice(0, 12)}` : '';
    return `this CI token was already used for a deploy${when}: a token is good for one deploy (a replayed token is refused; the CI platform issues a new one per job)`;
  });
}
