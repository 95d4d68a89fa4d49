// The JSON shapes of /api/v1's answers, as OpenAPI 3.1 (JSON Schema) components. One per resource;
// operations in openapi.ts name theirs with `ok`. test/http/openapi_schemas.test.ts checks real
// answers from a running server against them, so a route that changes its shape fails there.

import { SHELL_MODES } from "../db/schema.ts";
import { TIMED_STEPS } from "../sessions/spawn_steps.ts";

type Schema = Record<string, unknown>;

const string: Schema = { type: "string" };
const integer: Schema = { type: "integer" };
const number: Schema = { type: "number" };
const boolean: Schema = { type: "boolean" };
const time: Schema = { type: "string", format: "date-time" };
const uuid: Schema = { type: "string", format: "uuid" };
// Free-form (details, health reports, the export's records): any properties.
const anyObject: Schema = { type: "object", additionalProperties: true };

const nullable = (schema: Schema): Schema => ({ anyOf: [schema, { type: "null" }] });
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const list = (items: Schema): Schema => ({ type: "array", items });

/** An object with exactly these properties, all present (null where the schema allows it). */
function object(properties: Record<string, Schema>, optional: string[] = []): Schema {
  return {
    type: "object",
    properties,
    required: Object.keys(properties).filter((key) => !optional.includes(key)),
  };
}

const plan = object({
  id: string,
  name: string,
  cpu_millis: integer,
  memory_mb: integer,
  pids_limit: integer,
  disk_mb: integer,
  api_requests_per_minute: integer,
  idle_freeze_minutes: integer,
});

const user = object({ id: uuid, email: string, is_admin: boolean, plan: string, created_at: time });

const sessionState = { type: "string", enum: ["none", "spawning", "running", "frozen", "failed"] };

/** One step of the latest spawn (src/sessions/spawn_steps.ts): the failed one is the last of a failed spawn. */
const spawnStep = object({
  step: { type: "string", enum: TIMED_STEPS },
  label: string,
  started_at: time,
  ended_at: nullable(time),
  duration_ms: nullable(integer),
  outcome: { type: "string", enum: ["done", "running", "failed"] },
});

const session = object({
  state: sessionState,
  status: sessionState,
  container_id: nullable(string),
  hostname: nullable(string),
  node: nullable(string),
  template: nullable(string),
  plan,
  progress: nullable(string),
  failure_reason: nullable(string),
  steps: list(spawnStep),
  created_at: nullable(time),
});

const tokenTotals = object({
  input_tokens: integer,
  output_tokens: integer,
  requests: integer,
  by_model: list(anyObject),
});

const capacity = nullable(object({ cpuMillis: integer, memoryMb: integer, containers: integer }));

const inviteFields = {
  id: uuid,
  email: nullable(string),
  created_at: time,
  expires_at: time,
  used_at: nullable(time),
  revoked_at: nullable(time),
};
const invite = object(inviteFields);

const personalTokenFields = {
  id: uuid,
  name: string,
  created_at: time,
  expires_at: nullable(time),
  last_used_at: nullable(time),
};

export const SCHEMAS = {
  Error: object({
    error: object({ code: string, message: string, request_id: string }, ["request_id"]),
  }),
  User: user,
  SignedIn: object({ user, access_token: string, refresh_token: string, expires_in: integer }),
  TokenPair: object({ access_token: string, refresh_token: string, expires_in: integer }),
  Me: object({ user, session_id: string }),
  CsrfToken: object({ csrf_token: string }),
  SignIns: object({
    sessions: list(
      object({
        id: uuid,
        created_at: time,
        last_used_at: nullable(time),
        expires_at: time,
        user_agent: nullable(string),
        ip: nullable(string),
        current: boolean,
      }),
    ),
  }),
  Credential: object({ id: uuid, provider: string, key_preview: string, created_at: time }),
  CredentialSaved: object({ credential: ref("Credential"), replaced: boolean }),
  Credentials: object({ credentials: list(ref("Credential")) }),
  Plan: plan,
  Session: session,
  Hook: object({ configured: boolean, slug: nullable(string), rotated_at: nullable(time) }),
  HookSecret: object({ slug: string, secret: string, url: string }),
  Usage: object({
    state: sessionState,
    plan,
    live: nullable(
      object({ cpu_percent: number, memory_bytes: integer, memory_limit_bytes: integer, pids: integer }),
    ),
    tokens: object({
      today: tokenTotals,
      month: tokenTotals,
      monthly_budget: nullable(integer),
      budget_remaining: nullable(integer),
    }),
  }),
  UsageHistory: object({
    days: list(
      object({
        day: string,
        input_tokens: integer,
        output_tokens: integer,
        requests: integer,
        by_provider: anyObject,
      }),
    ),
  }),
  Nodes: object({
    nodes: list(
      object({
        id: uuid,
        name: string,
        url: string,
        fingerprint: string,
        state: { type: "string", enum: ["active", "draining", "unreachable"] },
        capacity,
        used: capacity,
        last_health: nullable(anyObject),
        last_seen_at: nullable(time),
      }),
    ),
  }),
  NodeAdded: object({ id: uuid, name: string, url: string, state: string }),
  NodeState: object({ id: uuid, state: string }),
  AdminUsage: object({
    days: list(
      object(
        { day: string, plan: string, spawns: integer, active_users: integer, container_seconds: integer },
        ["plan", "spawns", "active_users", "container_seconds"],
      ),
    ),
  }),
  AuditEntries: object({
    entries: list(
      object({
        id: integer,
        action: string,
        user_id: nullable(uuid),
        actor_id: nullable(uuid),
        target: nullable(string),
        detail: nullable(anyObject),
        ip: nullable(string),
        created_at: time,
      }),
    ),
  }),
  Invites: object({ invites: list(invite) }),
  // The token and link are in this answer only.
  InviteMinted: object({ ...inviteFields, token: string, url: string }),
  TotpSetup: object({ secret: string, otpauth_uri: string, qr_svg: string }),
  RecoveryCodes: object({ recovery_codes: list(string) }),
  PersonalTokens: object({ tokens: list(object(personalTokenFields)) }),
  // The token itself is in this answer only.
  PersonalTokenCreated: object({ ...personalTokenFields, token: string }),
  AccountExport: object(
    {
      exported_at: time,
      account: anyObject,
      provider_keys: list(ref("Credential")),
      container: nullable(anyObject),
      sign_ins: list(anyObject),
      sign_in_attempts: list(anyObject),
      personal_access_tokens: list(anyObject),
      audit_entries: list(anyObject),
    },
    ["container"],
  ),
  Channels: object({ channels: list(anyObject), keeps_awake: boolean, webhook_configured: boolean }),
  UpgradeAvailable: object({ available: boolean }),
  Settings: object({
    default_provider: nullable(string),
    default_model: nullable(string),
    system_prompt: string,
    shell_mode: { type: "string", enum: [...SHELL_MODES] },
    updated_at: nullable(time),
  }),
  Templates: object({ templates: list(string) }),
  AdminTemplates: object({ templates: list(string), known: list(string) }),
  PlanChanged: object({
    user_id: uuid,
    plan: string,
    container_limits: { type: "string", enum: ["live", "next_spawn", "no_container"] },
  }),
} satisfies Record<string, Schema>;

export type SchemaName = keyof typeof SCHEMAS;
