-- Inbound webhooks (issue 18): one row per user, kept across respawns so a channel's webhook URL
-- stays valid. The slug is public (it names the session in /hooks/<slug>/ and its apps host); the
-- secret is stored only as its SHA-256 (it is 256 random bits, so a plain hash cannot be searched).
CREATE TABLE session_hooks (
  user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  slug text NOT NULL,
  secret_hash text NOT NULL,
  rotated_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT session_hooks_slug_check CHECK (slug ~ '^[a-z0-9]{12}$'),
  CONSTRAINT session_hooks_secret_hash_check CHECK (secret_hash ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE UNIQUE INDEX session_hooks_slug_key ON session_hooks (slug);
--> statement-breakpoint
ALTER TABLE session_hooks ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE session_hooks FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY session_hooks_owner ON session_hooks TO clawfleet_app
  USING (user_id = clawfleet_current_user_id()) WITH CHECK (user_id = clawfleet_current_user_id());
--> statement-breakpoint
CREATE POLICY session_hooks_system ON session_hooks TO clawfleet_system USING (true) WITH CHECK (true);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON session_hooks TO clawfleet_app;
--> statement-breakpoint
GRANT SELECT ON session_hooks TO clawfleet_system;
