-- prodguard lockdown, part 2: issuing and checking tokens, inside the database.
-- session_token_kind() answers 'deploy' / 'break-glass' while the session carries a token that
-- exists and has not expired (clock_timestamp(), not the transaction's start), else NULL.
CREATE OR REPLACE FUNCTION prodguard.session_token_kind() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT t.kind FROM prodguard.lockdown_tokens t
  WHERE t.token_sha256 = encode(sha256(convert_to(coalesce(current_setting('prodguard.token', true), ''), 'UTF8')), 'hex')
    AND t.expires_at > clock_timestamp()
  LIMIT 1
$$;

-- Only the deployer role (CI) and the lockdown's owner may issue tokens; at most 4 hours.
CREATE OR REPLACE FUNCTION prodguard.issue_token(p_kind text, p_ttl interval, p_person text, p_reason text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  tok text := replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
BEGIN
  IF p_kind NOT IN ('deploy', 'break-glass') THEN RAISE EXCEPTION 'token kind must be deploy or break-glass'; END IF;
  IF p_ttl <= interval '0' OR p_ttl > interval '4 hours' THEN RAISE EXCEPTION 'token lifetime must be between 0 and 4 hours'; END IF;
  IF coalesce(trim(p_reason), '') = '' THEN RAISE EXCEPTION 'a token needs a reason'; END IF;
  DELETE FROM prodguard.lockdown_tokens WHERE expires_at < clock_timestamp() - interval '7 days';
  INSERT INTO prodguard.lockdown_tokens (token_sha256, kind, person, reason, expires_at)
  VALUES (encode(sha256(convert_to(tok, 'UTF8')), 'hex'), p_kind, p_person, p_reason, clock_timestamp() + p_ttl);
  RETURN tok;
END $$;
REVOKE ALL ON FUNCTION prodguard.issue_token(text, interval, text, text) FROM PUBLIC;
