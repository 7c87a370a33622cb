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

interface TokenUse {
  token_id: string;
  issuer: string;
  subject: string;
  run_id: string | null;
  change_hash: string;
  used_at: Date;
}

/** Every token production has accepted (none when it never had a CI deploy). */
export async function readCiTokenUse(url: string): Promise<TokenUse[]> {
  return withClient(url, async (c) => {
    const exists = (await c.query(`SELECT to_regclass('prodguard.ci_token_use') IS NOT NULL AS e`)).rows[0].e as boolean;
    if (!exists) return [];
    return (await c.query<TokenUse>('SELECT token_id, issuer, subject, run_id, change_hash, used_at FROM prodguard.ci_token_use')).rows;
  });
}

/**
 * Puts the tokens used before a restore back after it (red team w5c-048): the record lives in
 * production's own data, so restoring production to an earlier backup would forget every token
 * used since, and a captured, still-valid token would deploy again.
 */
export async function restoreCiTokenUse(url: string, rows: TokenUse[]): Promise<void> {
  if (rows.length === 0) return;
  await withClient(url, async (c) => {
    await c.query(CREATE_CI_TOKEN_USE_SQL);
    for (const r of rows) {
      await c.query('INSERT INTO prodguard.ci_token_use (token_id, issuer, subject, run_id, change_hash, used_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (token_id) DO NOTHING', [r.token_id, r.issuer, r.subject, r.run_id, r.change_hash, r.used_at]);
    }
  });
}
