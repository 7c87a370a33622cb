/**
 * Ends a lockdown token early (break-glass end). The token itself is never stored by prodguard,
 * only its sha256 — the same digest the database keeps — so this needs no secret.
 */
export const END_TOKEN_SQL = `UPDATE prodguard.lockdown_tokens SET expires_at = least(expires_at, clock_timestamp()) WHERE token_sha256 = $1`;
