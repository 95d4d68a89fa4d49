// Thousands of malformed, oversized, wrongly typed and truncated inputs against every HTTP endpoint of
// the server and the agent: never a 5xx, never a crash, never a change to what users stored.
// Bounded: a fixed count per endpoint, a seeded generator (reproducible), and a time limit.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { AgentClient } from "../../agent/api/client.ts";
import { signRequest } from "../../agent/api/contract.ts";
import type { RunningAgent } from "../../agent/server.ts";
import { parseKeyring } from "../../common/keyring.ts";
import { rowsOf } from "../../src/db/client.ts";
import { asSystem } from "../../src/db/rls.ts";
import { cleanupNode, startTestAgent, TEST_CLUSTER_SECRET } from "../helpers/fleet.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const PER_ENDPOINT = Number(process.env.FUZZ_PER_ENDPOINT ?? 120);

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = rng(SEED);
const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)] as T;
/** URL-safe text from junk (lone surrogates cannot be percent-encoded). */
const enc = (value: unknown, max: number) => encodeURIComponent(String(value).toWellFormed().slice(0, max));

function junkValue(depth = 0): unknown {
  const kinds = [
    () => null,
    () => random() > 0.5,
    () => Math.floor(random() * 2 ** 53) * (random() > 0.5 ? -1 : 1),
    () => random() * 1e308,
    () => "",
    () => "x".repeat(Math.floor(random() * 5000)),
    () => "\u0000\u0001\ud800\uffff<script>alert(1)</script>'; drop table users; --",
    () => "../../../../etc/passwd",
    () => `sk-ant-${"A".repeat(Math.floor(random() * 300))}`,
    () => crypto.randomUUID(),
    () => (depth < 3 ? Array.from({ length: Math.floor(random() * 5) }, () => junkValue(depth + 1)) : []),
    () =>
      depth < 3
        ? Object.fromEntries(
            Array.from({ length: Math.floor(random() * 5) }, (_, i) => [`k${i}`, junkValue(depth + 1)]),
          )
        : {},
  ];
  return pick(kinds)();
}

function junkBody(fields: string[]): { body: string | Uint8Array; type: string } {
  const variants = [
    () => ({
      body: JSON.stringify(Object.fromEntries(fields.map((f) => [f, junkValue()]))),
      type: "application/json",
    }),
    () => ({ body: JSON.stringify(junkValue()), type: "application/json" }),
    () => {
      const full = JSON.stringify(Object.fromEntries(fields.map((f) => [f, "value"])));
      return { body: full.slice(0, Math.floor(random() * full.length)), type: "application/json" };
    },
    () => ({
      body: crypto.getRandomValues(new Uint8Array(Math.floor(random() * 2000))),
      type: "application/json",
    }),
    () => ({
      body: `${fields[0]}=${enc(junkValue(), 5000)}`,
      type: "application/x-www-form-urlencoded",
    }),
    () => ({
      body: "{}",
      type: pick(["text/plain", "application/xml", "multipart/form-data; boundary=x", ""]),
    }),
    () => ({
      body: JSON.stringify({
        ...Object.fromEntries(fields.map((f) => [f, "x"])),
        extra: junkValue(),
        __proto__: { admin: true },
      }),
      type: "application/json",
    }),
  ];
  return pick(variants)();
}

const ENDPOINTS: { method: string; path: () => string; fields: string[] }[] = [
  { method: "POST", path: () => "/api/v1/auth/signup", fields: ["email", "password"] },
  { method: "POST", path: () => "/api/v1/auth/login", fields: ["email", "password"] },
  { method: "POST", path: () => "/api/v1/auth/refresh", fields: ["refresh_token"] },
  { method: "POST", path: () => "/api/v1/auth/logout", fields: [] },
  { method: "GET", path: () => "/api/v1/auth/me", fields: [] },
  { method: "GET", path: () => "/api/v1/auth/sessions", fields: [] },
  {
    method: "DELETE",
    path: () => `/api/v1/auth/sessions/${enc(junkValue(), 200)}`,
    fields: [],
  },
  { method: "POST", path: () => "/api/v1/auth/password", fields: ["current_password", "new_password"] },
  { method: "DELETE", path: () => "/api/v1/account", fields: ["password"] },
  { method: "GET", path: () => "/api/v1/credentials", fields: [] },
  { method: "POST", path: () => "/api/v1/credentials", fields: ["provider", "key"] },
  {
    method: "DELETE",
    path: () => `/api/v1/credentials/${enc(junkValue(), 200)}`,
    fields: [],
  },
  { method: "GET", path: () => "/api/v1/session", fields: [] },
  {
    method: "POST",
    path: () => `/api/v1/session/${pick(["spawn", "freeze", "restore", "kill", "x", "%00", "..%2f"])}`,
    fields: [],
  },
  { method: "GET", path: () => "/api/v1/usage", fields: [] },
  { method: "GET", path: () => "/api/v1/admin/nodes", fields: [] },
  { method: "POST", path: () => "/api/v1/admin/nodes", fields: ["name", "url", "fingerprint"] },
  {
    method: "GET",
    path: () => `/api/v1/admin/audit?before=${enc(junkValue(), 50)}`,
    fields: [],
  },
  { method: "GET", path: () => "/api/v1/session/gateway", fields: [] },
  { method: "GET", path: () => `/${enc(junkValue(), 100)}`, fields: [] },
];

describe("fuzzing the server's HTTP API", () => {
  let server: TestServer;
  let victim: Record<string, any>;
  let admin: Record<string, any>;
  const snapshot = async () =>
    asSystem(server.ctx.database.db, async (tx) =>
      JSON.stringify(
        rowsOf(
          await tx.execute(sql`select (select json_agg(u order by id) from (select id, email, password_hash, is_admin, plan_id from users) u) as users,
            (select json_agg(c order by id) from credentials c) as credentials,
            (select count(*) from nodes) as nodes,
            (select json_agg(s order by id) from (select id, state from agent_sessions) s) as sessions`),
        ),
      ),
    );

  beforeAll(async () => {
    server = await startTestServer("pglite");
    const make = async (email: string) =>
      json(
        await fetch(`${server.url}/api/v1/auth/signup`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email, password: "correct horse battery staple" }),
        }),
      );
    victim = await make("victim@example.test");
    admin = await make("admin@example.test");
    await server.ctx.database.db.execute(
      sql`update users set is_admin = true, plan_id = 'ultra' where id = ${admin.user.id}`,
    );
    await server.ctx.database.db.execute(
      sql`update users set plan_id = 'ultra' where id = ${victim.user.id}`,
    );
    await fetch(`${server.url}/api/v1/credentials`, {
      method: "POST",
      headers: { authorization: `Bearer ${victim.access_token}`, "content-type": "application/json" },
      body: JSON.stringify({ provider: "openai", key: "sk-proj-fuzz-victim-key-0123456789" }),
    });
  });
  afterAll(() => server.close());

  test(`${ENDPOINTS.length} endpoints × ${PER_ENDPOINT} hostile requests: no 5xx, no crash, nothing stored changes`, async () => {
    const before = await snapshot();
    const statuses = new Map<number, number>();
    const fiveXX: string[] = [];
    const deadline = Date.now() + 120_000;
    for (const endpoint of ENDPOINTS) {
      for (let i = 0; i < PER_ENDPOINT && Date.now() < deadline; i++) {
        const { body, type } = junkBody(endpoint.fields);
        const headers: Record<string, string> = type ? { "content-type": type } : {};
        const who = random();
        // The victim's own token is used only on read-only endpoints, so no legitimate change happens.
        if (who < 0.3 && endpoint.method === "GET")
          headers.authorization = `Bearer ${pick([victim.access_token, admin.access_token])}`;
        else if (who < 0.5) headers.authorization = `Bearer ${enc(junkValue(), 500)}`;
        else if (who < 0.6)
          headers.cookie = `cf_access=${enc(junkValue(), 300)}; cf_refresh=${victim.refresh_token.slice(0, 40)}x`;
        if (random() < 0.2) headers.origin = pick(["https://evil.example", "null", server.url]);
        const path = endpoint.path();
        const response = await fetch(`${server.url}${path}`, {
          method: endpoint.method,
          headers,
          body: endpoint.method === "GET" ? undefined : (body as BodyInit),
        }).catch(() => null);
        const status = response?.status ?? 0;
        await response?.arrayBuffer().catch(() => {});
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status >= 500 || status === 0)
          fiveXX.push(`${endpoint.method} ${path.slice(0, 80)} → ${status} (${type})`);
      }
    }
    expect(fiveXX).toEqual([]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(await snapshot()).toBe(before);
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(ENDPOINTS.length * Math.min(PER_ENDPOINT, 50));
    // The victim still works.
    const me = await fetch(`${server.url}/api/v1/auth/me`, {
      headers: { authorization: `Bearer ${victim.access_token}` },
    });
    expect(me.status).toBe(200);
  });
});

describe("fuzzing the agent's API", () => {
  let agent: RunningAgent;
  const keys = parseKeyring("K", TEST_CLUSTER_SECRET, "secret");
  beforeAll(async () => {
    agent = await startTestAgent();
  });
  afterAll(async () => {
    await agent.stop();
    await cleanupNode(agent.nodeId);
  });

  test("signed but malformed, and unsigned garbage: only 4xx, no container created", async () => {
    const key = keys[0] ?? { id: "", secret: new Uint8Array() };
    const fiveXX: string[] = [];
    const paths = () =>
      pick([
        "/v1/containers",
        `/v1/containers/${crypto.randomUUID()}`,
        `/v1/containers/${enc(junkValue(), 60)}/freeze`,
        `/v1/containers/${crypto.randomUUID()}/stats`,
        `/v1/containers/${crypto.randomUUID()}/restore`,
        "/v1/health?x=1",
        `/${String(junkValue()).slice(0, 40)}`,
      ]);
    for (let i = 0; i < PER_ENDPOINT * 8; i++) {
      const path = paths();
      const method = pick(["GET", "POST", "DELETE", "PUT"]);
      const { body } = junkBody(["sessionId", "template", "limits", "secrets"]);
      const signed = random() < 0.8;
      const headers = signed
        ? await signRequest(key, method, path, method === "GET" ? "" : body)
        : { "x-clawfleet-key-id": "test" };
      const response = await fetch(`${agent.url}${path}`, {
        method,
        headers,
        body: method === "GET" ? undefined : (body as BodyInit),
        tls: { rejectUnauthorized: false },
      } as RequestInit).catch(() => null);
      const status = response?.status ?? 0;
      await response?.arrayBuffer().catch(() => {});
      if (status >= 500 || status === 0) fiveXX.push(`${method} ${path} → ${status}`);
    }
    expect(fiveXX).toEqual([]);
    const client = new AgentClient({ url: agent.url, fingerprint: agent.fingerprint, keys });
    expect(await client.list()).toEqual([]);
    expect((await client.health()).nodeId).toBe(agent.nodeId);
  });
});
