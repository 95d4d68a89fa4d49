CREATE TABLE "volume_keys" (
  "session_id" uuid PRIMARY KEY NOT NULL,
  "user_id" uuid NOT NULL,
  "key_id" text NOT NULL,
  "nonce" bytea NOT NULL,
  "ciphertext" bytea NOT NULL,
  "created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "volume_keys" ADD CONSTRAINT "volume_keys_session_id_agent_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."agent_sessions"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "volume_keys" ADD CONSTRAINT "volume_keys_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "volume_keys_key_id_idx" ON "volume_keys" USING btree ("key_id");
--> statement-breakpoint
ALTER TABLE volume_keys ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE volume_keys FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY volume_keys_owner ON volume_keys TO clawfleet_app
  USING (user_id = clawfleet_current_user_id()) WITH CHECK (user_id = clawfleet_current_user_id());
--> statement-breakpoint
CREATE POLICY volume_keys_system ON volume_keys TO clawfleet_system USING (true) WITH CHECK (true);
--> statement-breakpoint
GRANT SELECT, INSERT, DELETE ON volume_keys TO clawfleet_app;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON volume_keys TO clawfleet_system;
