-- Issue 20, second pass (docs/BENCHMARKS.md): an authenticated API request's database work in one
-- statement, and the functions of 0009_perf in PL/pgSQL. A `LANGUAGE sql` function with a SET clause is
-- never inlined and PostgreSQL plans its body again on every call; PL/pgSQL keeps its plans for the
-- life of the connection (0.16 ms a call became ~0.03 ms).
--
-- clawfleet_api_request runs as clawfleet_system (its SET clause) and, in this order, stopping early:
-- 1. the access token's sign-in (skipped when p_sign_in is null: a cookie or personal token was checked
--    already), active unless revoked, past expires_at, or unused for p_idle_ms; read on every request, so
--    a revocation committed by any replica is refused at once;
-- 2. the request counted in the user's window (rate_counters, shared by every replica) against the
--    plan's limit, read here so a plan change applies at once everywhere;
-- 3. only when p_read_session and under the limit: app.user_id and the role clawfleet_app set for this
--    transaction, then users ⋈ plans ⋈ agent_sessions read under their FORCED row-level security, as
--    asUser does; the node's name read back as clawfleet_system.
-- The caller runs it as one autocommit statement: set_config(…, true) lasts until that statement's
-- implicit transaction ends, and the SET clause restores the caller's role when the function returns.
CREATE FUNCTION clawfleet_api_request(
  p_user uuid,
  p_sign_in uuid,
  p_now timestamptz,
  p_idle_ms bigint,
  p_bucket text,
  p_window_start timestamptz,
  p_read_session boolean
) RETURNS TABLE (signed_in boolean, count integer, rate_limit integer, plan jsonb, session jsonb, node_name text)
  LANGUAGE plpgsql SET role = 'clawfleet_system' AS $$
BEGIN
  -- Each statement here costs (~0.2 ms on PGlite), so the sign-in and the plan's limit are one read.
  SELECT p_sign_in IS NULL OR (a.revoked_at IS NULL AND a.expires_at > p_now
           AND a.last_used_at + p_idle_ms * interval '1 millisecond' > p_now),
         coalesce(pl.api_requests_per_minute, 30)
    INTO signed_in, rate_limit
    FROM (SELECT) AS one
    LEFT JOIN auth_sessions a ON a.id = p_sign_in AND a.user_id = p_user
    LEFT JOIN users u ON u.id = p_user
    LEFT JOIN plans pl ON pl.id = u.plan_id;
  signed_in := coalesce(signed_in, false);
  IF NOT signed_in THEN
    rate_limit := NULL;
    RETURN NEXT;
    RETURN;
  END IF;
  -- The count is all this statement writes, and a count lost in a crash costs nothing: its commit need
  -- not wait for the WAL flush, which was most of a request's time on PGlite and holds the counter
  -- row's lock on PostgreSQL. (Set inside the body, not as a SET clause, which would end with the
  -- function, before the commit.)
  PERFORM set_config('synchronous_commit', 'off', true);
  INSERT INTO rate_counters AS r (bucket, window_start, count) VALUES (p_bucket, p_window_start, 1)
    ON CONFLICT (bucket, window_start) DO UPDATE SET count = r.count + 1
    RETURNING r.count INTO count;
  IF p_read_session AND count <= rate_limit THEN
    PERFORM set_config('app.user_id', p_user::text, true), set_config('role', 'clawfleet_app', true);
    SELECT to_jsonb(pl), to_jsonb(ag) INTO plan, session
      FROM users u JOIN plans pl ON pl.id = u.plan_id LEFT JOIN agent_sessions ag ON ag.user_id = u.id
      WHERE u.id = p_user;
    -- The user context would outlive the function in the caller's transaction: clear it.
    PERFORM set_config('app.user_id', '', true), set_config('role', 'clawfleet_system', true);
    IF session ->> 'node_id' IS NOT NULL THEN
      SELECT n.name INTO node_name FROM nodes n WHERE n.id = (session ->> 'node_id')::uuid;
    END IF;
  END IF;
  RETURN NEXT;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION clawfleet_api_request(uuid, uuid, timestamptz, bigint, text, timestamptz, boolean) FROM PUBLIC;
--> statement-breakpoint
-- The sign-in check of the cookie path, the apps and the session sockets: same contract as in 0009.
DROP FUNCTION clawfleet_sign_in_state(uuid, uuid);
--> statement-breakpoint
CREATE FUNCTION clawfleet_sign_in_state(p_sign_in uuid, p_user uuid)
  RETURNS TABLE (revoked_at timestamptz, expires_at timestamptz, last_used_at timestamptz)
  LANGUAGE plpgsql STABLE SET role = 'clawfleet_system' AS $$
BEGIN
  RETURN QUERY SELECT a.revoked_at, a.expires_at, a.last_used_at FROM auth_sessions a
    WHERE a.id = p_sign_in AND a.user_id = p_user;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION clawfleet_sign_in_state(uuid, uuid) FROM PUBLIC;
--> statement-breakpoint
-- Counting is now part of clawfleet_api_request.
DROP FUNCTION clawfleet_count_request(text, timestamptz);
--> statement-breakpoint
-- Rate counters (API minutes, signup hours) are written on every authenticated request and worth
-- nothing after a crash: UNLOGGED skips the write-ahead log for them (no WAL to write or flush per
-- request). After a crash PostgreSQL empties the table, so the current windows start again from zero,
-- and a standby has no counts: both only let a client through a few more requests once.
ALTER TABLE rate_counters SET UNLOGGED;
