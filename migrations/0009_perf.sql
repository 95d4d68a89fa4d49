-- Issue 20 (performance): what lets the API path skip two of its three transactions. Both are
-- single statements a request runs outside any transaction (no BEGIN, set_config, COMMIT round trips).
--
-- 1. An access token's sign-in checked in one autocommit statement (src/auth/refresh_tokens.ts
--    isFamilyActive) instead of a four-statement transaction. Still read on every request, so a
--    revocation committed by any replica is refused by every replica from that moment on. The body
--    runs as clawfleet_system and filters by the token's user as well as the sign-in id.
CREATE FUNCTION clawfleet_sign_in_state(p_sign_in uuid, p_user uuid)
  RETURNS TABLE (revoked_at timestamptz, expires_at timestamptz, last_used_at timestamptz)
  LANGUAGE sql STABLE SET role = 'clawfleet_system' AS $$
  SELECT revoked_at, expires_at, last_used_at FROM auth_sessions WHERE id = p_sign_in AND user_id = p_user
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION clawfleet_sign_in_state(uuid, uuid) FROM PUBLIC;
--> statement-breakpoint
-- 2. One API request counted in one autocommit statement (src/http/rate_limit.ts) instead of a
--    four-statement transaction: the counter row's lock is held for the statement alone, not until a
--    COMMIT round trip later. The body runs as clawfleet_system (SET role), as asSystem would.
CREATE FUNCTION clawfleet_count_request(p_bucket text, p_window_start timestamptz) RETURNS integer
  LANGUAGE sql SET role = 'clawfleet_system' AS $$
  INSERT INTO rate_counters (bucket, window_start, count) VALUES (p_bucket, p_window_start, 1)
  ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_counters.count + 1
  RETURNING count
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION clawfleet_count_request(text, timestamptz) FROM PUBLIC;
