/**
 * Production's own record of its post-deploy verifications (red team ap-054). The team store's
 * deploy documents are writable by every developer; this table lives in production, written by
 * the deploy job (which holds production's credentials) right after it verified production.
 * Only CREATE TABLE (never ALTER): the lockdown's DDL guard lets CREATE through without a token.
 */
export const CREATE_DEPLOY_VERIFICATION_SQL = `
CREATE SCHEMA IF NOT EXISTS prodguard;
CREATE TABLE IF NOT EXISTS prodguard.deploy_verification (
  verified_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  change_hash text,
  ok boolean NOT NULL,
  differences integer NOT NULL,
  health_failures integer NOT NULL,
  production_fingerprint text NOT NULL,
  staging_fingerprint text NOT NULL
);`;

export const INSERT_DEPLOY_VERIFICATION_SQL = `
INSERT INTO prodguard.deploy_verification (change_hash, ok, differences, health_failures, production_fingerprint, staging_fingerprint)
VALUES ($1, $2, $3, $4, $5, $6)`;

export const DEPLOY_FACT_TABLES_SQL = `
SELECT to_regclass('prodguard.ci_token_use') IS NOT NULL AS claims,
       to_regclass('prodguard.deploy_verification') IS NOT NULL AS verifications`;

/** The newest CI token claim for a change ($1), and the newest claim of all. */
export const CLAIMS_SQL = `
(SELECT 'change' AS which, change_hash, run_id, used_at FROM prodguard.ci_token_use WHERE change_hash = $1 ORDER BY used_at DESC LIMIT 1)
UNION ALL
(SELECT 'newest' AS which, change_hash, run_id, used_at FROM prodguard.ci_token_use ORDER BY used_at DESC LIMIT 1)`;

/** The newest verification production recorded at or after $1. */
export const VERIFICATION_SINCE_SQL = `
SELECT verified_at, change_hash, ok, differences, health_failures
  FROM prodguard.deploy_verification
 WHERE verified_at >= $1
 ORDER BY verified_at DESC
 LIMIT 1`;
