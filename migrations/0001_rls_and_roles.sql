-- Roles are cluster-wide while tables are per database, so several clawfleet databases on one server
-- share these two roles. Creation tolerates a concurrent creator; grants are per object, per database.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'clawfleet_app') THEN
    BEGIN
      CREATE ROLE clawfleet_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'clawfleet_system') THEN
    BEGIN
      CREATE ROLE clawfleet_system NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
  IF NOT pg_has_role(current_user, 'clawfleet_app', 'MEMBER') THEN
    EXECUTE format('GRANT clawfleet_app TO %I', current_user);
  END IF;
  IF NOT pg_has_role(current_user, 'clawfleet_system', 'MEMBER') THEN
    EXECUTE format('GRANT clawfleet_system TO %I', current_user);
  END IF;
END
$$;
--> statement-breakpoint
CREATE FUNCTION clawfleet_current_user_id() RETURNS uuid
  LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION clawfleet_current_user_id() TO clawfleet_app, clawfleet_system;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO clawfleet_app, clawfleet_system;
--> statement-breakpoint
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE users FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY users_owner ON users TO clawfleet_app
  USING (id = clawfleet_current_user_id()) WITH CHECK (id = clawfleet_current_user_id());
--> statement-breakpoint
CREATE POLICY users_system ON users TO clawfleet_system USING (true) WITH CHECK (true);
--> statement-breakpoint
-- The app role may change its own password and email, never is_admin or plan_id.
GRANT SELECT, DELETE ON users TO clawfleet_app;
--> statement-breakpoint
GRANT UPDATE (email, password_hash, password_changed_at) ON users TO clawfleet_app;
--> statement-breakpoint
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['auth_sessions', 'credentials', 'agent_sessions', 'audit_log'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY %I ON %I TO clawfleet_app USING (user_id = clawfleet_current_user_id()) WITH CHECK (user_id = clawfleet_current_user_id())',
      t || '_owner', t);
    EXECUTE format('CREATE POLICY %I ON %I TO clawfleet_system USING (true) WITH CHECK (true)', t || '_system', t);
  END LOOP;
END
$$;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON auth_sessions, credentials, agent_sessions TO clawfleet_app;
--> statement-breakpoint
GRANT SELECT, INSERT ON audit_log TO clawfleet_app;
--> statement-breakpoint
GRANT SELECT ON plans TO clawfleet_app;
--> statement-breakpoint
GRANT USAGE ON SEQUENCE audit_log_id_seq TO clawfleet_app;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO clawfleet_system;
--> statement-breakpoint
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO clawfleet_system;
--> statement-breakpoint
INSERT INTO plans (id, name, cpu_millis, memory_mb, pids_limit, disk_mb, api_requests_per_minute, idle_freeze_minutes)
VALUES
  ('free', 'Free', 500, 512, 256, 1024, 30, 30),
  ('pro', 'Pro', 1000, 1024, 512, 4096, 120, 120),
  ('ultra', 'Ultra', 2000, 2048, 1024, 16384, 300, 480)
ON CONFLICT (id) DO NOTHING;
