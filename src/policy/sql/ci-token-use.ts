/**
 * The CI tokens production has already accepted for a deploy, kept in production itself: a
 * developer who can read production (or write to the team store) cannot remove a row, so a
 * captured, still-valid deploy-job token is good for one deploy only.
 */
export const CREATE_CI_TOKEN_USE_SQL = `
CREATE SCHEMA IF NOT EXISTS prodguard;
CREATE TABLE IF NOT EXISTS prodguard.ci_token_use (
  token_id text PRIMARY KEY,
  issuer text NOT NULL,
  subject text NOT NULL,
  run_id text,
  change_hash text NOT NULL,
  used_at timestamptz NOT NULL DEFAULT now()
);`;

/** One row when the token is new; none when production already accepted it. */
export const CLAIM_CI_TOKEN_SQL = `
INSERT INTO prodguard.ci_token_use (token_id, issuer, subject, run_id, change_hash) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (token_id) DO NOTHING
RETURNING used_at`;

export const READ_CI_TOKEN_USE_SQL = `SELECT used_at, change_hash, run_id FROM prodguard.ci_token_use WHERE token_id = $1`;
