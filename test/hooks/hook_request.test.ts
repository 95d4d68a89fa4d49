// Inbound webhooks end to end: server → agent → a real container (the testbox image, whose template
// declares hookPath /hooks), on both database drivers. A frozen container is restored by the webhook
// and its answer returned; a node that does not answer gets a bounded 503 with Retry-After; secrets
// and bodies stay out of logs and the database.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import type { RunningAgent } from "../../agent/server.ts";
import { rowsOf } from "../../src/db/client.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { ensureTestboxImage, TESTBOX_TEMPLATE } from "../agent/testbox/image.ts";
import { DRIVERS } from "../helpers/db.ts";
import { cleanupNode, startTestAgent, TEST_CLUSTER_SECRET } from "../helpers/fleet.ts";
import { tempDir } from "../helpers/process.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";
import { waitFor } from "../helpers/wait.ts";

const PASSWORD = "correct horse battery staple";
const HOOK_WAIT_SECONDS = 3;

for (const driver of DRIVERS) {
  describe(`inbound webhooks [${driver}]`, () => {
    let server: TestServer;
    let agent: RunningAgent;
    const agentLogs: string[] = [];
    let token = "";
    let slug = "";
    let secret = "";
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${server.url}/api/v1${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          ...(init.headers ?? {}),
        },
      });
    const state = async () => (await json(await api("/session"))).state as string;
    const hook = (path: string, body: string, init: RequestInit = {}) =>
      fetch(`${server.url}/hooks/${path}`, {
        method: "POST",
        body,
        ...init,
        headers: { "content-type": "application/json", ...(init.headers ?? {}) },
      });

    beforeAll(async () => {
      await ensureTestboxImage();
      // The testbox stands in for the default runtime, with a webhook path.
      const templates = join(tempDir("cf-hook-templates"), "templates.json");
      await Bun.write(
        templates,
        JSON.stringify([{ ...TESTBOX_TEMPLATE, name: "clawfleet-runtime", hookPath: "/hooks" }]),
      );
      agent = await startTestAgent({ CLAWFLEET_AGENT_TEMPLATES: templates }, agentLogs);
      server = await startTestServer(driver, {
        env: { CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET, CLAWFLEET_HOOK_WAIT: `${HOOK_WAIT_SECONDS}s` },
      });
      await addNode(server.ctx.database.db, { name: "n1", url: agent.url, fingerprint: agent.fingerprint });
      await server.reconcile();
      const signup = await json(
        await fetch(`${server.url}/api/v1/auth/signup`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: `hooks-${driver}@example.test`, password: PASSWORD }),
        }),
      );
      token = signup.access_token;
      await server.ctx.database.db.execute(
        sql`update users set plan_id = 'ultra' where id = ${signup.user.id}`,
      );
      expect((await api("/session/spawn", { method: "POST" })).status).toBe(202);
      await waitFor("running", state, (s) => s === "running", 60_000);
    });

    afterAll(async () => {
      await server?.close();
      await agent?.stop();
      if (agent) await cleanupNode(agent.nodeId);
    });

    test("a hook address is made on request; the secret is shown once, stored only hashed", async () => {
      expect(await json(await api("/session/hook"))).toMatchObject({ configured: false, slug: null });
      const rotated = await api("/session/hook/rotate", { method: "POST" });
      expect(rotated.status).toBe(201);
      const body = await json(rotated);
      slug = body.slug;
      secret = body.secret;
      expect(slug).toMatch(/^[a-z0-9]{12}$/);
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(body.url).toEndWith(`/hooks/${slug}/${secret}`);
      const shown = await json(await api("/session/hook"));
      expect(shown).toMatchObject({ configured: true, slug });
      expect(JSON.stringify(shown)).not.toContain(secret);
      const rows = rowsOf<{ secret_hash: string }>(
        await server.ctx.database.db.execute(sql`select secret_hash from session_hooks`),
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]?.secret_hash).toBe(new Bun.CryptoHasher("sha256").update(secret).digest("hex"));
    });

    test("the row is the user's alone: RLS forced, another user sees nothing", async () => {
      const [table] = rowsOf<{ relrowsecurity: boolean; relforcerowsecurity: boolean }>(
        await server.ctx.database.db.execute(
          sql`select relrowsecurity, relforcerowsecurity from pg_class where relname = 'session_hooks'`,
        ),
      );
      expect(table).toEqual({ relrowsecurity: true, relforcerowsecurity: true });
      const { asUser } = await import("../../src/db/rls.ts");
      const seen = await asUser(server.ctx.database.db, crypto.randomUUID(), (tx) =>
        tx.execute(sql`select slug from session_hooks`),
      );
      expect(rowsOf(seen)).toHaveLength(0);
    });

    test("a running container gets the webhook and its answer comes back", async () => {
      const response = await hook(
        `${slug}/${secret}/telegram?update=1`,
        '{"message":"marker-running-7f3a"}',
        {
          headers: { "x-telegram-bot-api-secret-token": "tg-header", cookie: "cf_access=console-cookie" },
        },
      );
      expect(response.status).toBe(201);
      expect(response.headers.get("content-type")).toContain("application/json");
      const echo = await json(response);
      expect(echo).toMatchObject({
        method: "POST",
        path: "/hooks/telegram",
        query: "?update=1",
        body: '{"message":"marker-running-7f3a"}',
      });
      expect(echo.headers["x-telegram-bot-api-secret-token"]).toBe("tg-header");
      expect(echo.headers.cookie).toBeUndefined();
    });

    test("a wrong secret, an unknown slug, a bad shape, PUT or a body over the limit wake nothing", async () => {
      expect((await api("/session/freeze", { method: "POST" })).status).toBe(202);
      await waitFor("frozen", state, (s) => s === "frozen");
      const wrong = secret.replace(/^./, secret[0] === "A" ? "B" : "A");
      for (const path of [
        `${slug}/${wrong}/x`,
        `aaaaaaaaaaaa/${secret}/x`,
        `${slug}`,
        `${slug}/${secret.slice(1)}`,
      ]) {
        const response = await hook(path, "{}");
        expect(response.status).toBe(404);
        expect((await json(response)).error.code).toBe("not_found");
      }
      const put = await fetch(`${server.url}/hooks/${slug}/${secret}/x`, { method: "PUT", body: "{}" });
      expect(put.status).toBe(405);
      expect(put.headers.get("allow")).toBe("GET, POST");
      const wrongGet = await fetch(`${server.url}/hooks/${slug}/${wrong}/whatsapp?hub.mode=subscribe`);
      expect(wrongGet.status).toBe(404);
      const tooBig = await hook(`${slug}/${secret}/big`, "x".repeat(256 * 1024 + 1));
      expect(tooBig.status).toBe(413);
      expect(await state()).toBe("frozen");
    });

    test("a webhook to a frozen container restores it and returns the container's answer", async () => {
      expect(await state()).toBe("frozen");
      const response = await hook(`${slug}/${secret}/slack/events`, '{"event":"marker-frozen-91c2"}');
      expect(response.status).toBe(201);
      expect(await json(response)).toMatchObject({
        path: "/hooks/slack/events",
        body: '{"event":"marker-frozen-91c2"}',
      });
      expect(await state()).toBe("running");
    });

    test("a node that does not answer gets a 503 with Retry-After once the wait is over", async () => {
      expect((await api("/session/freeze", { method: "POST" })).status).toBe(202);
      await waitFor("frozen", state, (s) => s === "frozen");
      // A listener that accepts and never answers, standing in for a stuck node.
      const held: unknown[] = [];
      const blackHole = Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        socket: { open: (s) => void held.push(s), data() {} },
      });
      const db = server.ctx.database.db;
      await db.execute(sql`update nodes set url = ${`https://127.0.0.1:${blackHole.port}`}`);
      try {
        const started = Date.now();
        const response = await hook(`${slug}/${secret}/x`, "{}");
        const took = Date.now() - started;
        expect(response.status).toBe(503);
        expect(response.headers.get("retry-after")).toBe("10");
        expect((await json(response)).error.code).toBe("container_waking");
        expect(took).toBeGreaterThanOrEqual(HOOK_WAIT_SECONDS * 1000 - 100);
        expect(took).toBeLessThan(HOOK_WAIT_SECONDS * 1000 + 2000);
      } finally {
        await db.execute(sql`update nodes set url = ${agent.url}`);
        blackHole.stop(true);
      }
      // Once the node answers again, the next webhook wakes the container.
      const response = await waitFor(
        "a webhook through once the node is back",
        () => hook(`${slug}/${secret}/again`, '{"n":2}'),
        (r) => r.status === 201,
        20_000,
        500,
      );
      expect((await json(response)).path).toBe("/hooks/again");
    });

    test("rotation ends the old secret", async () => {
      const old = secret;
      const rotated = await json(await api("/session/hook/rotate", { method: "POST" }));
      expect(rotated.slug).toBe(slug);
      secret = rotated.secret;
      expect((await hook(`${slug}/${old}/x`, "{}")).status).toBe(404);
      expect((await hook(`${slug}/${secret}/x`, "{}")).status).toBe(201);
    });

    test("secrets and bodies never reach logs or the database", async () => {
      const logs = `${server.logs.join("\n")}\n${agentLogs.join("\n")}`;
      expect(logs).toContain("webhook relayed");
      for (const needle of [secret, "marker-running-7f3a", "marker-frozen-91c2", "tg-header"])
        expect(logs).not.toContain(needle);
      const dump = rowsOf<{ row: string }>(
        await server.ctx.database.db.execute(
          sql`select row_to_json(a)::text as row from audit_log a union all select row_to_json(h)::text from session_hooks h`,
        ),
      )
        .map((r) => r.row)
        .join("\n");
      for (const needle of [secret, "marker-running-7f3a", "marker-frozen-91c2"])
        expect(dump).not.toContain(needle);
    });
  });
}
