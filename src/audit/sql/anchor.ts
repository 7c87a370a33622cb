/**
 * The team store's copy of every audit record: append-only. UPDATE, DELETE and TRUNCATE are
 * revoked from PUBLIC and refused by triggers, so the role prodguard writes with can only add
 * rows. (A superuser or the table owner can still drop the triggers: give prodguard a role that
 * owns nothing here — see docs/security.md — and the checkpoints on the backup destinations
 * catch what the store alone cannot.)
 */
export const CREATE_AUDIT_ANCHOR_SQL = `
CREATE TABLE prodguard_state.audit_log (
  origin text NOT NULL,
  seq bigint NOT NULL,
  hash text NOT NULL,
  record jsonb NOT NULL,
  anchored_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (origin, seq)
);
CREATE FUNCTION prodguard_state.audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'prodguard_state.audit_log is append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON prodguard_state.audit_log
  FOR EACH ROW EXECUTE FUNCTION prodguard_state.audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON prodguard_state.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION prodguard_state.audit_log_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON prodguard_state.audit_log FROM PUBLIC;`;

/**
 * A record already anchored (same origin, seq and hash) is left alone: appending twice is not an
 * edit. A *different* record under a taken (origin, seq) — the log was deleted and restarted at
 * seq 1, or rewritten — is still anchored, under the displaced origin `<origin>#<hash16>` (red team
 * ap-051): otherwise everything that machine does after deleting its log, refusals included,
 * would exist only in the file its user controls. `audit verify` still names the mismatch.
 */
export const APPEND_AUDIT_SQL = `
WITH ins AS (
  INSERT INTO prodguard_state.audit_log (origin, seq, hash, record) VALUES ($1, $2, $3, $4)
  ON CONFLICT (origin, seq) DO NOTHING RETURNING 1
)
INSERT INTO prodguard_state.audit_log (origin, seq, hash, record)
SELECT $1 || '#' || left($3, 16), $2, $3, $4
 WHERE NOT EXISTS (SELECT 1 FROM ins)
   AND NOT EXISTS (SELECT 1 FROM prodguard_state.audit_log WHERE origin = $1 AND seq = $2 AND hash = $3)
ON CONFLICT (origin, seq) DO NOTHING`;

/** The batch form of APPEND_AUDIT_SQL (the gateway's per-statement records). */
export const APPEND_AUDIT_BATCH_SQL = `
WITH v AS (SELECT s, h, r FROM unnest($2::bigint[], $3::text[], $4::text[]) AS t(s, h, r)),
ins AS (
  INSERT INTO prodguard_state.audit_log (origin, seq, hash, record)
  SELECT $1, s, h, r::jsonb FROM v
  ON CONFLICT (origin, seq) DO NOTHING RETURNING seq
)
INSERT INTO prodguard_state.audit_log (origin, seq, hash, record)
SELECT $1 || '#' || left(v.h, 16), v.s, v.h, v.r::jsonb FROM v
 WHERE v.s NOT IN (SELECT seq FROM ins)
   AND NOT EXISTS (SELECT 1 FROM prodguard_state.audit_log a WHERE a.origin = $1 AND a.seq = v.s AND a.hash = v.h)
ON CONFLICT (origin, seq) DO NOTHING`;

export const READ_AUDIT_SQL = `SELECT seq::int AS seq, hash, record FROM prodguard_state.audit_log WHERE origin = $1 ORDER BY seq`;

/** Records of this origin that were anchored displaced (see APPEND_AUDIT_SQL). */
export const READ_DISPLACED_AUDIT_SQL = `SELECT seq::int AS seq, hash, record FROM prodguard_state.audit_log WHERE starts_with(origin, $1 || '#') ORDER BY seq`;

/** Every policy version that came into force, from any machine's log (src/policy/anchor.ts). */
export const READ_POLICY_ANCHORS_SQL = `SELECT record FROM prodguard_state.audit_log
  WHERE record->>'action' IN ('policy.init', 'policy.change') AND record->>'verdict' = 'ok'`;

/** Every origin in the team store, with its seq range and first record (red team ap-050: rows of other machines). */
export const AUDIT_ORIGINS_SQL = `SELECT o.origin, o.rows, o.first_seq, o.last_seq, f.record AS first_record
  FROM (SELECT origin, count(*)::int AS rows, min(seq)::int AS first_seq, max(seq)::int AS last_seq
          FROM prodguard_state.audit_log GROUP BY origin) o
  JOIN prodguard_state.audit_log f ON f.origin = o.origin AND f.seq = o.first_seq
  ORDER BY o.origin`;

export const READ_AUDIT_ROW_SQL = `SELECT seq::int AS seq, hash, record FROM prodguard_state.audit_log WHERE origin = $1 AND seq = $2`;
