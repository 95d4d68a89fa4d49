-- Invite links (CLAWFLEET_SIGNUP=invite): minted by administrators, single use, only the token's
-- hash is stored. Not user-owned: only the system role reads or writes them (RLS forced, no app policy).
CREATE TABLE "invites" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"token_hash" text NOT NULL,
	"email" text,
	"created_by" uuid REFERENCES "users"("id") ON DELETE SET NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"used_by" uuid REFERENCES "users"("id") ON DELETE SET NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE UNIQUE INDEX "invites_token_hash_key" ON "invites" USING btree ("token_hash");
--> statement-breakpoint
ALTER TABLE invites ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE invites FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY invites_system ON invites TO clawfleet_system USING (true) WITH CHECK (true);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON invites TO clawfleet_system;
--> statement-breakpoint
-- Per-node signing secrets (`clawfleet nodes add`): sealed under the master key like provider keys,
-- the AAD binding each to its node. Null: the node is still signed for with the cluster secret (v1).
ALTER TABLE "nodes" ADD COLUMN "secret_key_id" text;
--> statement-breakpoint
ALTER TABLE "nodes" ADD COLUMN "secret_nonce" bytea;
--> statement-breakpoint
ALTER TABLE "nodes" ADD COLUMN "secret_ciphertext" bytea;
