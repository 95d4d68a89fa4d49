// The OpenAPI 3.1 document of /api/v1, and a small viewer page (no external scripts; served from the
// binary). Kept by hand beside the routes; test/http/openapi.test.ts checks every route is listed.
import { Elysia } from "elysia";
import { ACCOUNT_OPERATIONS } from "./openapi_accounts.ts";
import { TOOLS_OPERATIONS } from "./openapi_tools.ts";

export type Op = {
  summary: string;
  auth?: boolean;
  body?: Record<string, string>;
  responses: Record<string, string>;
};

const json = (fields: Record<string, string>) => ({
  type: "object",
  properties: Object.fromEntries(Object.entries(fields).map(([k, type]) => [k, { type }])),
  required: Object.keys(fields),
});

export const API_OPERATIONS: Record<string, Record<string, Op>> = {
  "/auth/signup": {
    post: {
      summary: "Create an account (an invite token when CLAWFLEET_SIGNUP=invite)",
      body: { email: "string", password: "string", invite: "string" },
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
      summary: "Sign in (totp_code too when two-factor is on)",
      body: { email: "string", password: "string" },
      responses: { 200: "Signed in", 401: "Wrong email or password", 429: "Too many attempts (Retry-After)" },
    },
  },
  "/auth/refresh": {
    post: {
      summary: "Rotate the refresh token",
      body: { refresh_token: "string" },
      responses: { 200: "New token pair", 401: "Ended or reused (family revoked)" },
    },
  },
  "/auth/logout": { post: { summary: "End this sign-in", auth: true, responses: { 204: "Signed out" } } },
  "/auth/me": { get: { summary: "The signed-in user", auth: true, responses: { 200: "User" } } },
  "/auth/csrf": {
    get: { summary: "The CSRF token for cookie sessions", auth: true, responses: { 200: "Token" } },
  },
  "/auth/sessions": { get: { summary: "List sign-ins", auth: true, responses: { 200: "Sessions" } } },
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
    get: { summary: "List provider keys (previews only)", auth: true, responses: { 200: "Credentials" } },
    post: {
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
      summary: "The container's state",
      auth: true,
      responses: { 200: "{state, status, container_id, hostname, node, plan, progress, created_at}" },
    },
  },
  "/session/{action}": {
    post: {
      summary: "spawn | freeze | restore | kill",
      auth: true,
      responses: { 202: "Accepted, new state", 409: "Not possible in this state" },
    },
  },
  "/session/hook": {
    get: {
      summary: "The session's webhook slug (never the secret)",
      auth: true,
      responses: { 200: "{configured, slug, rotated_at}" },
    },
  },
  "/session/hook/rotate": {
    post: {
      summary: "A new webhook secret, shown once; the old one stops working",
      auth: true,
      responses: { 201: "{slug, secret, url}" },
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
    get: { summary: "Live usage, plan limits and token totals", auth: true, responses: { 200: "Usage" } },
  },
  "/usage/history": {
    get: { summary: "Tokens per day for the last ?days=N days", auth: true, responses: { 200: "History" } },
  },
  "/admin/nodes": {
    get: { summary: "Fleet nodes", auth: true, responses: { 200: "Nodes", 403: "Not an admin" } },
    post: {
      summary: "Register a node",
      auth: true,
      body: { name: "string", url: "string", fingerprint: "string" },
      responses: { 201: "Added" },
    },
  },
  "/admin/nodes/{id}/{action}": {
    post: { summary: "drain | activate", auth: true, responses: { 200: "New state" } },
  },
  "/admin/nodes/{id}": {
    delete: { summary: "Remove an empty node", auth: true, responses: { 204: "Removed" } },
  },
  "/admin/usage": {
    get: { summary: "Daily aggregates (no user ids)", auth: true, responses: { 200: "Days" } },
  },
  "/admin/audit": { get: { summary: "Audit log", auth: true, responses: { 200: "Entries" } } },
  "/admin/invites": {
    get: { summary: "Invite links (never their tokens)", auth: true, responses: { 200: "Invites" } },
    post: {
      summary: "Mint a single-use signup link (token and url shown once)",
      auth: true,
      body: { email: "string", expires_in_days: "integer" },
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
      schemas: {
        Error: json({ error: "object" }),
      },
    },
  };
}

const VIEWER = (doc: ReturnType<typeof openApiDocument>) => {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const rows = Object.entries(doc.paths)
    .flatMap(([path, ops]) =>
      Object.entries(
        ops as Record<string, { summary: string; responses: Record<string, { description: string }> }>,
      ).map(
        ([method, op]) =>
          `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${esc(path)}</code></td><td>${esc(op.summary)}</td><td>${Object.entries(
            op.responses,
          )
            .map(([c, r]) => `${c} ${esc(r.description)}`)
            .join("<br>")}</td></tr>`,
      ),
    )
    .join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>clawfleet API</title></head><body><h1>clawfleet API ${esc(doc.info.version)}</h1><p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a></p><table><thead><tr><th>Method</th><th>Path</th><th>What</th><th>Responses</th></tr></thead><tbody>${rows}</tbody></table></body></html>`;
};

export function openApiRoutes(version: string) {
  const doc = openApiDocument(version);
  const page = VIEWER(doc);
  return new Elysia({ name: "openapi" })
    .get("/api/v1/openapi.json", () => doc)
    .get("/api/docs", () => new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } }));
}
