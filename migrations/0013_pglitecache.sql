-- Issue 20, third pass (docs/BENCHMARKS.md, docs/AUTH.md): on the embedded database (PGlite) the server
-- answers an authenticated API request from memory (src/http/embedded_auth_cache.ts). PGlite is opened
-- by this one process only, every write goes through it, and PGlite hands a NOTIFY to its listeners
-- before the committing statement's (or transaction's) promise resolves (test/db/pglite_notify.test.ts),
-- so a trigger's pg_notify drops a cached entry before the writing request can answer.
--
-- The triggers are created on both drivers, as one migration has to serve both: on PostgreSQL nothing
-- listens on the channel and the server keeps reading the committed rows on every request (replicas
-- cannot be told in time). A notification nobody listens to costs a queue entry at the commit of a
-- write on these tables (sign-in, sign-out, refresh, spawn steps, plan and node edits): no request of
-- the hot path writes them.
--
-- Payloads on `clawfleet_api_cache`: `sign_in:<id>`, `user:<id>` (the user row or their agent
-- session), `plan:<id>`, `node:<id>`, `all` (a TRUNCATE). The listener drops anything it does not know.
CREATE FUNCTION clawfleet_api_cache_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed record;
BEGIN
  IF TG_LEVEL = 'STATEMENT' THEN
    PERFORM pg_notify('clawfleet_api_cache', 'all');
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
  IF TG_TABLE_NAME = 'auth_sessions' THEN
    PERFORM pg_notify('clawfleet_api_cache', 'sign_in:' || changed.id);
  ELSIF TG_TABLE_NAME = 'users' THEN
    PERFORM pg_notify('clawfleet_api_cache', 'user:' || changed.id);
  ELSIF TG_TABLE_NAME = 'agent_sessions' THEN
    PERFORM pg_notify('clawfleet_api_cache', 'user:' || changed.user_id);
    IF TG_OP = 'UPDATE' AND OLD.user_id IS DISTINCT FROM NEW.user_id THEN
      PERFORM pg_notify('clawfleet_api_cache', 'user:' || OLD.user_id);
    END IF;
  ELSIF TG_TABLE_NAME = 'plans' THEN
    PERFORM pg_notify('clawfleet_api_cache', 'plan:' || changed.id);
  ELSIF TG_TABLE_NAME = 'nodes' THEN
    PERFORM pg_notify('clawfleet_api_cache', 'node:' || changed.id);
  ELSE
    PERFORM pg_notify('clawfleet_api_cache', 'all');
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
-- Inserts too: a cached entry is never a "not found", but an inserted agent session changes the view.
CREATE TRIGGER auth_sessions_api_cache AFTER INSERT OR UPDATE OR DELETE ON auth_sessions
  FOR EACH ROW EXECUTE FUNCTION clawfleet_api_cache_notify();
--> statement-breakpoint
CREATE TRIGGER users_api_cache AFTER INSERT OR UPDATE OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION clawfleet_api_cache_notify();
--> statement-breakpoint
CREATE TRIGGER plans_api_cache AFTER INSERT OR UPDATE OR DELETE ON plans
  FOR EACH ROW EXECUTE FUNCTION clawfleet_api_cache_notify();
--> statement-breakpoint
CREATE TRIGGER agent_sessions_api_cache AFTER INSERT OR UPDATE OR DELETE ON agent_sessions
  FOR EACH ROW EXECUTE FUNCTION clawfleet_api_cache_notify();
--> statement-breakpoint
-- Heartbeats write nodes often; only the name is shown (and deleting a node nulls the sessions' node_id,
-- which the agent_sessions trigger reports).
CREATE TRIGGER nodes_api_cache AFTER UPDATE OF name OR DELETE ON nodes
  FOR EACH ROW EXECUTE FUNCTION clawfleet_api_cache_notify();
--> statement-breakpoint
CREATE TRIGGER auth_sessions_api_cache_truncate AFTER TRUNCATE ON auth_sessions
  FOR EACH STATEMENT EXECUTE FUNCTION clawfleet_api_cache_notify();
--> statement-breakpoint
CREATE TRIGGER users_api_cache_truncate AFTER TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION clawfleet_api_cache_notify();
--> statement-breakpoint
CREATE TRIGGER plans_api_cache_truncate AFTER TRUNCATE ON plans
  FOR EACH STATEMENT EXECUTE FUNCTION clawfleet_api_cache_notify();
--> statement-breakpoint
CREATE TRIGGER agent_sessions_api_cache_truncate AFTER TRUNCATE ON agent_sessions
  FOR EACH STATEMENT EXECUTE FUNCTION clawfleet_api_cache_notify();
--> statement-breakpoint
CREATE TRIGGER nodes_api_cache_truncate AFTER TRUNCATE ON nodes
  FOR EACH STATEMENT EXECUTE FUNCTION clawfleet_api_cache_notify();
--> statement-breakpoint
-- What the cache holds, read as clawfleet_api_request reads it (0012) but counting nothing: the sign-in's
-- state as stored (the caller compares it with the clock and the idle policy on every request), the
-- user's plan and limit and, when p_read_session, users ⋈ plans ⋈ agent_sessions under their FORCED
-- row-level security as clawfleet_app with app.user_id set, then the node's name as clawfleet_system.
-- Run as one autocommit statement, like clawfleet_api_request.
CREATE FUNCTION clawfleet_api_snapshot(p_user uuid, p_sign_in uuid, p_read_session boolean)
  RETURNS TABLE (sign_in_found boolean, revoked_at timestamptz, expires_at timestamptz,
    last_used_at timestamptz, rate_limit integer, plan jsonb, session jsonb, node_name text)
  LANGUAGE plpgsql SET role = 'clawfleet_system' AS $$
BEGIN
  SELECT a.id IS NOT NULL, a.revoked_at, a.expires_at, a.last_used_at,
         coalesce(pl.api_requests_per_minute, 30)
    INTO sign_in_found, revoked_at, expires_at, last_used_at, rate_limit
    FROM (SELECT) AS one
    LEFT JOIN auth_sessions a ON a.id = p_sign_in AND a.user_id = p_user
    LEFT JOIN users u ON u.id = p_user
    LEFT JOIN plans pl ON pl.id = u.plan_id;
  IF p_read_session THEN
    PERFORM set_config('app.user_id', p_user::text, true), set_config('role', 'clawfleet_app', true);
    SELECT to_jsonb(pl), to_jsonb(ag) INTO plan, session
      FROM users u JOIN plans pl ON pl.id = u.plan_id LEFT JOIN agent_sessions ag ON ag.user_id = u.id
      WHERE u.id = p_user;
    PERFORM set_config('app.user_id', '', true), set_config('role', 'clawfleet_system', true);
    IF session ->> 'node_id' IS NOT NULL THEN
      SELECT n.name INTO node_name FROM nodes n WHERE n.id = (session ->> 'node_id')::uuid;
    END IF;
  END IF;
  RETURN NEXT;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION clawfleet_api_snapshot(uuid, uuid, boolean) FROM PUBLIC;
