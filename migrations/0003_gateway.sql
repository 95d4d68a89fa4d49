-- Provider gateway (issue 14): token usage per user, day, provider and model (counts only, never
-- content), and an optional monthly token budget per plan (null: no budget).
ALTER TABLE "plans" ADD COLUMN "monthly_token_budget" bigint;
--> statement-breakpoint
CREATE TABLE "token_usage" (
	"user_id" uuid NOT NULL REFERENCES "users"("id") ON DELETE CASCADE,
	"day" date NOT NULL,
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"input_tokens" bigint DEFAULT 0 NOT NULL,
	"output_tokens" bigint DEFAULT 0 NOT NULL,
	"requests" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "token_usage_pkey" PRIMARY KEY ("user_id", "day", "provider", "model"),
	CONSTRAINT "token_usage_provider_check" CHECK ("provider" in ('anthropic', 'openai', 'google', 'openrouter'))
);
--> statement-breakpoint
ALTER TABLE "token_usage" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "token_usage" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY "token_usage_owner" ON "token_usage" TO clawfleet_app
  USING (user_id = clawfleet_current_user_id()) WITH CHECK (user_id = clawfleet_current_user_id());
--> statement-breakpoint
CREATE POLICY "token_usage_system" ON "token_usage" TO clawfleet_system USING (true) WITH CHECK (true);
--> statement-breakpoint
-- Users read their own usage; only the system role (the gateway's reports) writes it.
GRANT SELECT ON "token_usage" TO clawfleet_app;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON "token_usage" TO clawfleet_system;
