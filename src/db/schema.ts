// The data model of DESIGN.md. Row-level security (enabled and forced on every user-owned table)
// lives in the hand-written migration beside the generated ones: drizzle-kit cannot express FORCE.

import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  check,
  customType,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import type { Provider } from "../../common/providers.ts";
import type { SpawnStepRecord } from "../sessions/spawn_steps.ts";

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => "bytea",
  fromDriver: (value) => new Uint8Array(value),
});

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();

export const plans = pgTable("plans", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  cpuMillis: integer("cpu_millis").notNull(),
  memoryMb: integer("memory_mb").notNull(),
  pidsLimit: integer("pids_limit").notNull(),
  diskMb: integer("disk_mb").notNull(),
  apiRequestsPerMinute: integer("api_requests_per_minute").notNull(),
  idleFreezeMinutes: integer("idle_freeze_minutes").notNull(),
  /** Tokens (input + output) a user may use per calendar month (UTC); null: no budget. */
  monthlyTokenBudget: bigint("monthly_token_budget", { mode: "number" }),
});

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    email: text("email").notNull(),
    passwordHash: text("password_hash").notNull(),
    isAdmin: boolean("is_admin").notNull().default(false),
    planId: text("plan_id")
      .notNull()
      .default("free")
      .references(() => plans.id),
    createdAt: createdAt(),
    passwordChangedAt: timestamp("password_changed_at", { withTimezone: true }).notNull().defaultNow(),
    emailVerifiedAt: timestamp("email_verified_at", { withTimezone: true }),
  },
  (t) => [uniqueIndex("users_email_key").on(t.email)],
);

/**
 * One row per refresh-token family (a signed-in device). A refresh token is derived from the family's
 * random salt and its generation (see src/auth/refresh_tokens.ts); only its hash is stored.
 */
export const signIns = pgTable(
  "auth_sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    salt: text("salt").notNull(),
    generation: integer("generation").notNull().default(0),
    tokenHash: text("token_hash").notNull(),
    rotatedAt: timestamp("rotated_at", { withTimezone: true }),
    createdAt: createdAt(),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    revokedReason: text("revoked_reason"),
    userAgent: text("user_agent"),
    ip: text("ip"),
  },
  (t) => [
    uniqueIndex("auth_sessions_token_hash_key").on(t.tokenHash),
    index("auth_sessions_user_idx").on(t.userId),
  ],
);

/** AI-provider keys, AES-256-GCM under the master key named by key_id. */
export const credentials = pgTable(
  "credentials",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    provider: text("provider").$type<Provider>().notNull(),
    keyId: text("key_id").notNull(),
    nonce: bytea("nonce").notNull(),
    ciphertext: bytea("ciphertext").notNull(),
    keyPreview: text("key_preview").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("credentials_user_provider_key").on(t.userId, t.provider),
    index("credentials_key_id_idx").on(t.keyId),
    check(
      "credentials_provider_check",
      sql`${t.provider} in ('anthropic', 'openai', 'google', 'openrouter')`,
    ),
  ],
);

export const NODE_STATES = ["active", "draining", "unreachable"] as const;
export type NodeState = (typeof NODE_STATES)[number];

export const nodes = pgTable(
  "nodes",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull(),
    url: text("url").notNull(),
    fingerprint: text("fingerprint").notNull(),
    state: text("state").$type<NodeState>().notNull().default("active"),
    capacity: jsonb("capacity").$type<{ cpuMillis: number; memoryMb: number; containers: number }>(),
    lastHealth: jsonb("last_health"),
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true }),
    createdAt: createdAt(),
    /** This node's own signing secret, sealed (src/fleet/node_secrets.ts); null: cluster secret. */
    secretKeyId: text("secret_key_id"),
    secretNonce: bytea("secret_nonce"),
    secretCiphertext: bytea("secret_ciphertext"),
  },
  (t) => [
    uniqueIndex("nodes_name_key").on(t.name),
    check("nodes_state_check", sql`${t.state} in ('active', 'draining', 'unreachable')`),
  ],
);

export const SESSION_STATES = ["none", "spawning", "running", "frozen", "failed"] as const;
export type SessionState = (typeof SESSION_STATES)[number];

/** One container per user. */
export const agentSessions = pgTable(
  "agent_sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    nodeId: uuid("node_id").references(() => nodes.id, { onDelete: "set null" }),
    dockerId: text("docker_id"),
    template: text("template").notNull().default("clawfleet-runtime"),
    state: text("state").$type<SessionState>().notNull().default("none"),
    progress: text("progress"),
    failureReason: text("failure_reason"),
    generation: integer("generation").notNull().default(0),
    createdAt: createdAt(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    lastActivityAt: timestamp("last_activity_at", { withTimezone: true }).notNull().defaultNow(),
    /** A frozen container's next schedule (migrations/0007_tools.sql): the reconciler restores it then. */
    wakeAt: timestamp("wake_at", { withTimezone: true }),
    /**
     * The Docker id of the container that reported a polling channel (Telegram without a public URL):
     * the idle freeze skips the session while it is the current container. A respawn gets a new id,
     * so the mark lapses with the container (docs/CHANNELS.md).
     */
    pollingContainerId: text("polling_container_id"),
    /** The latest spawn's steps with their times (migrations/0011_progress.sql, src/sessions/spawn_steps.ts). */
    spawnSteps: jsonb("spawn_steps").$type<SpawnStepRecord[]>().notNull().default([]),
  },
  (t) => [
    uniqueIndex("agent_sessions_user_key").on(t.userId),
    index("agent_sessions_node_idx").on(t.nodeId),
    check(
      "agent_sessions_state_check",
      sql`${t.state} in ('none', 'spawning', 'running', 'frozen', 'failed')`,
    ),
  ],
);

export const loginAttempts = pgTable(
  "login_attempts",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    ip: text("ip").notNull(),
    email: text("email").notNull(),
    success: boolean("success").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index("login_attempts_email_idx").on(t.email, t.createdAt),
    index("login_attempts_ip_idx").on(t.ip, t.createdAt),
  ],
);

export const auditLog = pgTable(
  "audit_log",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    userId: uuid("user_id"),
    actorId: uuid("actor_id"),
    action: text("action").notNull(),
    target: text("target"),
    detail: jsonb("detail").$type<Record<string, unknown>>(),
    ip: text("ip"),
    createdAt: createdAt(),
  },
  (t) => [
    index("audit_log_user_idx").on(t.userId, t.createdAt),
    index("audit_log_created_idx").on(t.createdAt),
  ],
);

/** Aggregates only: no user id, so usage history cannot be tied back to a person. */
export const usageDaily = pgTable(
  "usage_daily",
  {
    day: date("day").notNull(),
    planId: text("plan_id").notNull(),
    spawns: integer("spawns").notNull().default(0),
    activeUsers: integer("active_users").notNull().default(0),
    containerSeconds: bigint("container_seconds", { mode: "number" }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.day, t.planId] })],
);

/** Token counts the provider gateway reported, per user, day, provider and model: never content. */
export const tokenUsage = pgTable(
  "token_usage",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    day: date("day").notNull(),
    provider: text("provider").$type<Provider>().notNull(),
    model: text("model").notNull(),
    inputTokens: bigint("input_tokens", { mode: "number" }).notNull().default(0),
    outputTokens: bigint("output_tokens", { mode: "number" }).notNull().default(0),
    requests: integer("requests").notNull().default(0),
  },
  (t) => [
    primaryKey({ name: "token_usage_pkey", columns: [t.userId, t.day, t.provider, t.model] }),
    check(
      "token_usage_provider_check",
      sql`${t.provider} in ('anthropic', 'openai', 'google', 'openrouter')`,
    ),
  ],
);

/** Fixed-window API request counters shared by all replicas. */
export const rateCounters = pgTable(
  "rate_counters",
  {
    bucket: text("bucket").notNull(),
    windowStart: timestamp("window_start", { withTimezone: true }).notNull(),
    count: integer("count").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.bucket, t.windowStart] })],
);

/**
 * Each session's volume key (docs/SECRETS.md): AES-256-GCM under the master key, AAD bound to user and
 * session. Deleting the row is the crypto-shredding of a kill; the session's own row cascades to it.
 */
export const volumeKeys = pgTable("volume_keys", {
  sessionId: uuid("session_id")
    .primaryKey()
    .references(() => agentSessions.id, { onDelete: "cascade" }),
  userId: uuid("user_id")
    .notNull()
    .references(() => users.id, { onDelete: "cascade" }),
  keyId: text("key_id").notNull(),
  nonce: bytea("nonce").notNull(),
  ciphertext: bytea("ciphertext").notNull(),
  createdAt: createdAt(),
});
/** Inbound webhooks (migrations/0006_https.sql): a public slug and the SHA-256 of the hook secret. */
export const sessionHooks = pgTable(
  "session_hooks",
  {
    userId: uuid("user_id")
      .primaryKey()
      .references(() => users.id, { onDelete: "cascade" }),
    slug: text("slug").notNull(),
    secretHash: text("secret_hash").notNull(),
    rotatedAt: timestamp("rotated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("session_hooks_slug_key").on(t.slug)],
);

/** Single-use signup links minted by administrators (CLAWFLEET_SIGNUP=invite); only the hash is kept. */
export const invites = pgTable(
  "invites",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tokenHash: text("token_hash").notNull(),
    email: text("email"),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    usedAt: timestamp("used_at", { withTimezone: true }),
    usedBy: uuid("used_by").references(() => users.id, { onDelete: "set null" }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [uniqueIndex("invites_token_hash_key").on(t.tokenHash)],
);

export const ACCOUNT_TOKEN_PURPOSES = ["password_reset", "verify_email"] as const;
export type AccountTokenPurpose = (typeof ACCOUNT_TOKEN_PURPOSES)[number];

/** Single-use tokens sent by mail (password reset, email verification); only their hash is stored. */
export const accountTokens = pgTable(
  "account_tokens",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    purpose: text("purpose").$type<AccountTokenPurpose>().notNull(),
    tokenHash: text("token_hash").notNull(),
    email: text("email").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    usedAt: timestamp("used_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("account_tokens_token_hash_key").on(t.tokenHash),
    index("account_tokens_user_idx").on(t.userId, t.purpose),
    check("account_tokens_purpose_check", sql`${t.purpose} in ('password_reset', 'verify_email')`),
  ],
);

/** Personal access tokens (`cfp_…`) for scripts; only their hash is stored. */
export const personalTokens = pgTable(
  "personal_tokens",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    tokenHash: text("token_hash").notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("personal_tokens_token_hash_key").on(t.tokenHash),
    index("personal_tokens_user_idx").on(t.userId),
  ],
);

/** A user's TOTP secret, sealed under the master key; enabled once a first code was proven. */
export const totpFactors = pgTable("totp_factors", {
  userId: uuid("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  keyId: text("key_id").notNull(),
  nonce: bytea("nonce").notNull(),
  ciphertext: bytea("ciphertext").notNull(),
  enabledAt: timestamp("enabled_at", { withTimezone: true }),
  /** The last accepted time step: a code is accepted once. */
  lastStep: bigint("last_step", { mode: "number" }),
  createdAt: createdAt(),
});

export const totpRecoveryCodes = pgTable(
  "totp_recovery_codes",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    codeHash: text("code_hash").notNull(),
    usedAt: timestamp("used_at", { withTimezone: true }),
  },
  (t) => [index("totp_recovery_codes_user_idx").on(t.userId)],
);

export const SHELL_MODES = ["ask", "run", "off"] as const;
export type ShellMode = (typeof SHELL_MODES)[number];

/** The user's assistant settings (migrations/0007_tools.sql), handed to their runtime by the console. */
export const userSettings = pgTable("user_settings", {
  userId: uuid("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  defaultProvider: text("default_provider").$type<Provider>(),
  defaultModel: text("default_model"),
  systemPrompt: text("system_prompt").notNull().default(""),
  shellMode: text("shell_mode").$type<ShellMode>().notNull().default("ask"),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Server-wide settings an administrator changes at run time (the templates users may pick). */
export const serverSettings = pgTable("server_settings", {
  key: text("key").primaryKey(),
  value: jsonb("value").notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});
