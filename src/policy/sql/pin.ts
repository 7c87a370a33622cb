/** The policy production last deployed under, kept in production itself (one row). */
export const CREATE_POLICY_PIN_SQL = `
CREATE SCHEMA IF NOT EXISTS prodguard;
CREATE TABLE IF NOT EXISTS prodguard.policy_pin (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  version int NOT NULL,
  hash text NOT NULL,
  pinned_at timestamptz NOT NULL DEFAULT now()
);`;

export const READ_POLICY_PIN_SQL = `SELECT version, hash FROM prodguard.policy_pin WHERE to_regclass('prodguard.policy_pin') IS NOT NULL`;
export const PIN_EXISTS_SQL = `SELECT to_regclass('prodguard.policy_pin') IS NOT NULL AS exists`;

/** Only ever moves forward. */
export const UPSERT_POLICY_PIN_SQL = `
INSERT INTO prodguard.policy_pin (only_row, version, hash) VALUES (true, $1, $2)
ON CONFLICT (only_row) DO UPDATE SET version = excluded.version, hash = excluded.hash, pinned_at = now()
  WHERE prodguard.policy_pin.version <= excluded.version`;
