-- Per-user assistant settings (issue 19): the default provider and model and the system prompt the
-- console hands to the user's runtime, and whether its shell tool asks first. One row per user.
CREATE TABLE user_settings (
  user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  default_provider text,
  default_model text,
  system_prompt text NOT NULL DEFAULT '',
  shell_mode text NOT NULL DEFAULT 'ask',
  updated_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT user_settings_provider_check
    CHECK (default_provider IS NULL OR default_provider IN ('anthropic', 'openai', 'google', 'openrouter')),
  CONSTRAINT user_settings_model_check CHECK (default_model IS NULL OR default_model ~ '^[A-Za-z0-9_.:/@-]{1,100}$'),
  CONSTRAINT user_settings_prompt_check CHECK (char_length(system_prompt) <= 8000),
  CONSTRAINT user_settings_shell_check CHECK (shell_mode IN ('ask', 'run', 'off'))
);
--> statement-breakpoint
ALTER TABLE user_settings ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE user_settings FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY user_settings_owner ON user_settings TO clawfleet_app
  USING (user_id = clawfleet_current_user_id()) WITH CHECK (user_id = clawfleet_current_user_id());
--> statement-breakpoint
CREATE POLICY user_settings_system ON user_settings TO clawfleet_system USING (true) WITH CHECK (true);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON user_settings TO clawfleet_app;
--> statement-breakpoint
GRANT SELECT ON user_settings TO clawfleet_system;
--> statement-breakpoint
-- Server-wide settings an administrator changes at run time; for now the templates users may pick.
CREATE TABLE server_settings (
  key text PRIMARY KEY,
  value jsonb NOT NULL,
  updated_at timestamp with time zone NOT NULL DEFAULT now()
);
--> statement-breakpoint
ALTER TABLE server_settings ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE server_settings FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY server_settings_system ON server_settings TO clawfleet_system USING (true) WITH CHECK (true);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON server_settings TO clawfleet_system;
--> statement-breakpoint
-- A frozen container's next schedule, as its runtime reported it at the freeze: the reconciler
-- restores the container at that time so the schedule fires (issue 19).
ALTER TABLE agent_sessions ADD COLUMN wake_at timestamp with time zone;
