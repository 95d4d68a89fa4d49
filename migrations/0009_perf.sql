-- Issue 20 (performance): what lets the API path skip two of its three transactions.
--
-- 1. Sign-in caches (src/auth/sign_in_cache.ts) hear of every change that can end a sign-in: revoked,
--    re-dated or deleted (a user's deletion cascades here too), whatever code or hand-written SQL made
--    it. The NOTIFY is queued inside the changing transaction, so every replica's listener receives it
--    when, and only if, that transaction commits.
CREATE FUNCTION clawfleet_sign_in_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('clawfleet_sign_in_changed', OLD.id::text);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER auth_sessions_changed
  AFTER UPDATE OF revoked_at, expires_at OR DELETE ON auth_sessions
  FOR EACH ROW EXECUTE FUNCTION clawfleet_sign_in_changed();
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
