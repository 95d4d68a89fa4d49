// Every documented success answer has a schema, and the real answers of a running server match
// theirs (no missing field, no undocumented one, right types), so the reference at /api/docs cannot
// drift from the routes.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { API_OPERATIONS, openApiDocument } from "../../src/http/openapi.ts";
import { schemaErrors } from "../helpers/json_schema.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let server: TestServer;
const doc = openApiDocument("0.0.0-test");
const components = doc.components.schemas as Record<string, Record<string, unknown>>;

beforeAll(async () => {
  server = await startTestServer("pglite");
});
afterAll(async () => {
  await server?.close();
});

test("every operation that answers with a JSON body names its schema", () => {
  const missing: string[] = [];
  for (const [path, ops] of Object.entries(API_OPERATIONS)) {
    for (const [method, op] of Object.entries(ops)) {
      const hasBody = Object.keys(op.responses).some((code) => code === "200" || code === "201");
      if (hasBody && !op.ok) missing.push(`${method} ${path}`);
      if (op.ok) expect(components[op.ok]).toBeDefined();
    }
  }
  expect(missing).toEqual([]);
});

/** Calls the API and checks the answer against the schema its operation documents. */
async function checked(
  method: string,
  path: string,
  documented: string,
  token: string | null,
  body?: unknown,
) {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const value = await response.json();
  const op = API_OPERATIONS[documented]?.[method.toLowerCase()];
  const content = (
    op && (doc.paths[`/api/v1${documented}`] as any)[method.toLowerCase()].responses[String(response.status)]
  )?.content?.["application/json"]?.schema;
  expect({ route: `${method} ${path}`, documented: Boolean(content) }).toEqual({
    route: `${method} ${path}`,
    documented: true,
  });
  expect({ route: `${method} ${path}`, errors: schemaErrors(value, content, components) }).toEqual({
    route: `${method} ${path}`,
    errors: [],
  });
  return value as Record<string, any>;
}

test("real answers match their documented schemas", async () => {
  const password = "lantern quarry whistle 58";
  const signup = await checked("POST", "/auth/signup", "/auth/signup", null, {
    email: "s@example.test",
    password,
  });
  const token = signup.access_token as string;
  await checked("POST", "/auth/login", "/auth/login", null, { email: "s@example.test", password });
  await checked("POST", "/auth/refresh", "/auth/refresh", null, { refresh_token: signup.refresh_token });
  await checked("GET", "/auth/me", "/auth/me", token);
  await checked("GET", "/auth/csrf", "/auth/csrf", token);
  await checked("GET", "/auth/sessions", "/auth/sessions", token);
  await checked("POST", "/credentials", "/credentials", token, {
    provider: "openai",
    key: "sk-proj-abcdefghijklmnopqrstuvwxyz",
  });
  await checked("GET", "/credentials", "/credentials", token);
  await checked("GET", "/session", "/session", token);
  await checked("POST", "/session/spawn", "/session/{action}", token);
  await checked("GET", "/session/hook", "/session/hook", token);
  await checked("POST", "/session/hook/rotate", "/session/hook/rotate", token);
  await checked("GET", "/usage", "/usage", token);
  await checked("GET", "/usage/history?days=3", "/usage/history", token);
  const node = await checked("POST", "/admin/nodes", "/admin/nodes", token, {
    name: "n1",
    url: "https://127.0.0.1:9",
    fingerprint: "ab".repeat(32),
  });
  await checked("GET", "/admin/nodes", "/admin/nodes", token);
  await checked("POST", `/admin/nodes/${node.id}/drain`, "/admin/nodes/{id}/{action}", token);
  await checked("GET", "/admin/usage", "/admin/usage", token);
  await checked("GET", "/admin/audit", "/admin/audit", token);
  await checked("POST", "/admin/invites", "/admin/invites", token, {
    email: "t@example.test",
    expires_in_days: 3,
  });
  await checked("GET", "/admin/invites", "/admin/invites", token);
  await checked("POST", "/auth/totp/setup", "/auth/totp/setup", token);
  await checked("POST", "/tokens", "/tokens", token, { name: "ci" });
  await checked("GET", "/tokens", "/tokens", token);
  await checked("GET", "/account/export", "/account/export", token);
  await checked("PUT", `/admin/users/${signup.user.id}/plan`, "/admin/users/{id}/plan", token, {
    plan: "free",
  });
  await checked("GET", "/session/upgrade", "/session/upgrade", token);
  await checked("GET", "/settings", "/settings", token);
  await checked("PUT", "/settings", "/settings", token, { system_prompt: "Be brief." });
  await checked("GET", "/templates", "/templates", token);
  await checked("GET", "/admin/templates", "/admin/templates", token);
  await checked("PUT", "/admin/templates", "/admin/templates", token, { templates: ["clawfleet-runtime"] });
  await checked("POST", "/session/kill", "/session/{action}", token);
  // A refusal matches the Error schema.
  await checked("POST", "/auth/login", "/auth/login", null, {
    email: "s@example.test",
    password: "wrong guess entirely",
  });
});
