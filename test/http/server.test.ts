import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { asSystem } from "../../src/db/rls.ts";
import { users } from "../../src/db/schema.ts";
import { DRIVERS } from "../helpers/db.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";

for (const driver of DRIVERS) {
  describe(`server cross-cutting behaviour [${driver}]`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer(driver);
    });
    afterAll(() => server.close());

    test("every response carries a request id, error bodies and error logs carry the same id", async () => {
      const ok = await fetch(`${server.url}/healthz`);
      expect(ok.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
      const bad = await fetch(`${server.url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{",
      });
      const id = bad.headers.get("x-request-id");
      expect(bad.status).toBe(400);
      expect((await json(bad)).error.request_id).toBe(id);
    });

    test("bodies over the limit are refused with a 4xx and nothing breaks", async () => {
      const big = "x".repeat(2 * 1024 * 1024);
      const response = await fetch(`${server.url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "a@b.test", password: big }),
      }).catch(() => null);
      expect(response === null || (response.status >= 400 && response.status < 500)).toBe(true);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    });

    test("/metrics: Prometheus text for administrators only", async () => {
      expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
      const signup = await json(
        await fetch(`${server.url}/api/v1/auth/signup`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            email: `m-${crypto.randomUUID().slice(0, 6)}@example.test`,
            password: "correct horse battery staple",
          }),
        }),
      );
      const auth = { authorization: `Bearer ${signup.access_token}` };
      // The first account of an install is its administrator: make this one an ordinary user first.
      await asSystem(server.ctx.database.db, (tx) =>
        tx.update(users).set({ isAdmin: false }).where(eq(users.id, signup.user.id)),
      );
      expect((await fetch(`${server.url}/metrics`, { headers: auth })).status).toBe(403);
      await asSystem(server.ctx.database.db, (tx) =>
        tx.update(users).set({ isAdmin: true }).where(eq(users.id, signup.user.id)),
      );
      const metrics = await fetch(`${server.url}/metrics`, { headers: auth });
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(text).toContain('clawfleet_http_requests_total{route="/api/v1/auth/signup",status="201"}');
      expect(text).toContain('clawfleet_sessions{state="running"} 0');
      expect(text).toContain('clawfleet_nodes{state="active"}');
      expect(text).toContain("clawfleet_proxy_connections_open 0");
      expect(text).not.toContain(signup.user.id);
    });

    test("the OpenAPI document and its viewer are served from the binary", async () => {
      const doc = await json(await fetch(`${server.url}/api/v1/openapi.json`));
      expect(doc.openapi).toBe("3.1.0");
      expect(Object.keys(doc.paths)).toContain("/api/v1/session/{action}");
      const page = await fetch(`${server.url}/api/docs`);
      expect(page.headers.get("content-type")).toContain("text/html");
      const html = await page.text();
      expect(html).toContain('data-spec-url="/api/v1/openapi.json"');
      const viewer = html.match(/src="(\/static\/scalar\.js\?v=[0-9a-f]+)"/)?.[1];
      const script = await fetch(`${server.url}${viewer}`);
      expect(script.status).toBe(200);
      expect((await script.text()).length).toBeGreaterThan(1_000_000);
    });
  });
}
