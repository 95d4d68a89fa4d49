// The OpenAPI 3.1 document of /api/v1, and its reader at /api/docs (openapi_viewer.ts). Kept by hand
// beside the routes; test/http/openapi.test.ts checks every route is listed.
import { Elysia } from "elysia";
import { ACCOUNT_OPERATIONS } from "./openapi_accounts.ts";
import { SCHEMAS, type SchemaName } from "./openapi_schemas.ts";
import { TOOLS_OPERATIONS } from "./openapi_tools.ts";
import { API_DOCS_PATH, apiDocsPage } from "./openapi_viewer.ts";

export type Op = {
  summary: string;
  auth?: boolean;
  /** Field name to JSON type; a trailing "?" marks an optional field. */
  body?: Record<string, string>;
  responses: Record<string, string>;
  /** The schema of the success answer (its 200 or 201), from openapi_schemas.ts. */
  ok?: SchemaName;
};

const json = (fields: Record<string, string>) => ({
  type: "object",
  properties: Object.fromEntries(
    Object.entries(fields).map(([k, type]) => [k, { type: type.replace(/\?$/, "") }]),
  ),
  required: Object.entries(fields)
    .filter(([, type]) => !type.endsWith("?"))
    .map(([k]) => k),
});

export const API_OPERATIONS: Record<string, Record<string, Op>> = {
  "/auth/signup": {
    post: {
      ok: "SignedIn",
      summary: "Create an account (an invite token when CLAWFLEET_SIGNUP=invite)",
      body: { email: "string", password: "string", invite: "string?" },
      responses: {
        201: "Signed up",
        400: "Invalid input",
        403: "Signup closed, or the invite is not valid",
        409: "Email taken",
        429: "Too many signups (Retry-After)",
      },
    },
  },
  "/auth/login": {
    post: {
      ok: "SignedIn",
      summary: "Sign in (totp_code too when two-factor is on)",
      body: { email: "string", password: "string", totp_code: "string?" },
      responses: { 200: "Signed in", 401: "Wrong email or password", 429: "Too many attempts (Retry-After)" },
    },
  },
  "/auth/refresh": {
    post: {
      ok: "TokenPair",
      summary: "Rotate the refresh token",
      body: { refresh_token: "string" },
      responses: { 200: "New token pair", 401: "Ended or reused (family revoked)" },
    },
  },
  "/auth/logout": { post: { summary: "End this sign-in", auth: true, responses: { 204: "Signed out" } } },
  "/auth/me": { get: { ok: "Me", summary: "The signed-in user", auth: true, responses: { 200: "User" } } },
  "/auth/csrf": {
    get: {
      ok: "CsrfToken",
      summary: "The CSRF token for cookie sessions",
      auth: true,
      responses: { 200: "Token" },
    },
  },
  "/auth/sessions": {
    get: { ok: "SignIns", summary: "List sign-ins", auth: true, responses: { 200: "Sessions" } },
  },
  "/auth/sessions/{id}": {
    delete: {
      summary: "Revoke a sign-in",
      auth: true,
      responses: { 204: "Revoked", 404: "No such session" },
    },
  },
  "/auth/password": {
    post: {
      summary: "Change password (other sign-ins end)",
      auth: true,
      body: { current_password: "string", new_password: "string" },
      responses: { 204: "Changed", 403: "Wrong current password" },
    },
  },
  "/account": {
    delete: {
      summary: "Delete the account, its container and keys",
      auth: true,
      body: { password: "string" },
      responses: { 204: "Deleted", 403: "Wrong password" },
    },
  },
  "/credentials": {
    get: {
      ok: "Credentials",
      summary: "List provider keys (previews only)",
      auth: true,
      responses: { 200: "Credentials" },
    },
    post: {
      ok: "CredentialSaved",
      summary: "Add a provider key",
      auth: true,
      body: { provider: "string", key: "string" },
      responses: { 201: "Added", 400: "Invalid key" },
    },
  },
  "/credentials/{id}": {
    delete: {
      summary: "Delete a provider key",
      auth: true,
      responses: { 204: "Deleted", 404: "No such key" },
    },
  },
  "/session": {
    get: {
      ok: "Session",
      summary:
        "The container's state; with ?wait=N (1-30 s) while spawning, answers when the state or spawn step changes",
      auth: true,
      responses: {
        200: "{state, status, container_id, hostname, node, plan, progress, failure_reason, steps, created_at}",
        400: "wait is not 1-30",
      },
    },
  },
  "/session/{action}": {
    post: {
      ok: "Session",
      summary: "spawn | freeze | restore | kill",
      auth: true,
      responses: { 202: "Accepted, new state", 409: "Not possible in this state" },
    },
  },
  "/session/hook": {
    get: {
      ok: "Hook",
      summary: "The session's webhook slug (never the secret)",
      auth: true,
      responses: { 200: "{configured, slug, rotated_at}" },
    },
  },
  "/session/hook/rotate": {
    post: {
      ok: "HookSecret",
      summary: "A new webhook secret, shown once; the old one stops working",
      auth: true,
      responses: { 201: "{slug, secret, url}" },
    },
  },
  "/channels": {
    get: {
      ok: "Channels",
      summary: "Telegram, Slack and WhatsApp as the container reports them (never a credential)",
      auth: true,
      responses: { 200: "{channels, keeps_awake, webhook_configured}", 409: "No container, or no channels" },
    },
  },
  "/channels/{name}": {
    put: {
      ok: "Channels",
      summary: "Connect or change a channel; credentials pass through to the container, stored nowhere else",
      auth: true,
      responses: {
        200: "{channels, keeps_awake, webhook_configured}",
        400: "Bad input",
        404: "No such channel",
        422: "The platform rejected the credentials",
      },
    },
    delete: {
      summary: "Disconnect a channel",
      auth: true,
      responses: { 204: "Disconnected", 404: "Not connected" },
    },
  },
  "/session/gateway": {
    get: {
      summary: "WebSocket to the container's agent gateway",
      auth: true,
      responses: { 101: "Upgraded", 409: "Not running" },
    },
  },
  "/session/terminal": {
    get: {
      summary: "WebSocket shell in the container",
      auth: true,
      responses: { 101: "Upgraded", 409: "Not running" },
    },
  },
  "/usage": {
    get: {
      ok: "Usage",
      summary: "Live usage, plan limits and token totals",
      auth: true,
      responses: { 200: "Usage" },
    },
  },
  "/usage/history": {
    get: {
      ok: "UsageHistory",
      summary: "Tokens per day for the last ?days=N days",
      auth: true,
      responses: { 200: "History" },
    },
  },
  "/admin/nodes": {
    get: {
      ok: "Nodes",
      summary: "Fleet nodes",
      auth: true,
      responses: { 200: "Nodes", 403: "Not an admin" },
    },
    post: {
      ok: "NodeAdded",
      summary: "Register a node",
      auth: true,
      body: { name: "string", url: "string", fingerprint: "string" },
      responses: { 201: "Added" },
    },
  },
  "/admin/nodes/{id}/{action}": {
    post: { ok: "NodeState", summary: "drain | activate", auth: true, responses: { 200: "New state" } },
  },
  "/admin/nodes/{id}": {
    delete: { summary: "Remove an empty node", auth: true, responses: { 204: "Removed" } },
  },
  "/admin/usage": {
    get: {
      ok: "AdminUsage",
      summary: "Daily aggregates (no user ids)",
      auth: true,
      responses: { 200: "Days" },
    },
  },
  "/admin/audit": {
    get: { ok: "AuditEntries", summary: "Audit log", auth: true, responses: { 200: "Entries" } },
  },
  "/admin/invites": {
    get: {
      ok: "Invites",
      summary: "Invite links (never their tokens)",
      auth: true,
      responses: { 200: "Invites" },
    },
    post: {
      ok: "InviteMinted",
      summary: "Mint a single-use signup link (token and url shown once)",
      auth: true,
      body: { email: "string?", expires_in_days: "integer?" },
      responses: { 201: "Minted", 400: "Invalid input" },
    },
  },
  "/admin/invites/{id}": {
    delete: {
      summary: "Revoke a pending invite",
      auth: true,
      responses: { 204: "Revoked", 404: "No such invite" },
    },
  },
  ...ACCOUNT_OPERATIONS,
  ...TOOLS_OPERATIONS,
};

export function openApiDocument(version: string) {
  const paths: Record<string, unknown> = {};
  for (const [path, ops] of Object.entries(API_OPERATIONS)) {
    paths[`/api/v1${path}`] = Object.fromEntries(
      Object.entries(ops).map(([method, op]) => [
        method,
        {
          summary: op.summary,
          ...(op.auth ? { security: [{ bearer: [] }, { cookie: [] }] } : {}),
          ...(op.body
            ? { requestBody: { required: true, content: { "application/json": { schema: json(op.body) } } } }
            : {}),
          responses: Object.fromEntries(
            Object.entries(op.responses).map(([code, description]) => [
              code,
              {
                description,
                ...(Number(code) >= 400
                  ? { content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } }
                  : op.ok && (code === "200" || code === "201" || code === "202")
                    ? {
                        content: {
                          "application/json": { schema: { $ref: `#/components/schemas/${op.ok}` } },
                        },
                      }
                    : {}),
              },
            ]),
          ),
        },
      ]),
    );
  }
  return {
    openapi: "3.1.0",
    info: { title: "clawfleet API", version },
    paths,
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
        cookie: { type: "apiKey", in: "cookie", name: "cf_access" },
      },
      schemas: SCHEMAS,
    },
  };
}

export function openApiRoutes(version: string) {
  const doc = openApiDocument(version);
  const page = apiDocsPage(doc.info.version);
  return new Elysia({ name: "openapi" })
    .get("/api/v1/openapi.json", () => doc)
    .get(
      API_DOCS_PATH,
      () => new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } }),
    );
}
