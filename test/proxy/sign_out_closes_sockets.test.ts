// Ending a sign-in ends its WebSockets within a second, on every replica: sign-out, revoking a sign-in
// from the list, changing the password (other sign-ins) and refresh-token reuse (the family). Real
// stack: a real agent and container, the server on PGlite, and two replicas sharing PostgreSQL (the
// revocation goes to one replica, the sockets live on both).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { RunningAgent } from "../../agent/server.ts";
import { resetLinkFor } from "../../src/auth/password_reset.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { DRIVERS } from "../helpers/db.ts";
import { cleanupNode, ensureRuntimeImage, startTestAgent, TEST_CLUSTER_SECRET } from "../helpers/fleet.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";
import { waitFor } from "../helpers/wait.ts";

const EMAIL = "revoke@example.test";
const PASSWORD = "correct horse battery staple";
type SignIn = { access: string; refresh: string; id: string };

async function post(base: string, path: string, body: unknown, token?: string) {
  return fetch(`${base}/api/v1${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

type Watched = { ws: WebSocket; closed: Promise<{ code: number; at: number }> };

async function openTerminal(base: string, token: string): Promise<Watched> {
  const ws = new WebSocket(`${base.replace("http", "ws")}/api/v1/session/terminal`, {
    headers: { authorization: `Bearer ${token}` },
  } as never);
  const closed = new Promise<{ code: number; at: number }>((resolve) => {
    ws.addEventListener("close", (e) => resolve({ code: e.code, at: Date.now() }));
  });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("terminal socket did not open"));
  });
  // The relay is up once the shell says something.
  await new Promise((resolve) => {
    ws.onmessage = resolve;
    ws.send("echo ready\n");
  });
  return { ws, closed };
}

async function stillOpen(watched: Watched): Promise<boolean> {
  const early = await Promise.race([watched.closed, Bun.sleep(300).then(() => null)]);
  return early === null && watched.ws.readyState === WebSocket.OPEN;
}

async function closedWithinASecond(watched: Watched, since: number) {
  const result = await Promise.race([watched.closed, Bun.sleep(3000).then(() => null)]);
  expect(result).not.toBeNull();
  expect(result?.code).toBe(1008);
  expect((result?.at ?? Number.POSITIVE_INFINITY) - since).toBeLessThan(1000);
}

for (const driver of DRIVERS) {
  describe(`open sockets close when their sign-in ends [${driver}]`, () => {
    let agent: RunningAgent;
    const replicas: TestServer[] = [];
    const bases = () => replicas.map((r) => r.url);
    const other = (i: number) => bases()[(i + 1) % replicas.length] ?? "";
    let signUp: SignIn;

    async function signIn(): Promise<SignIn> {
      const body = await json(
        await post(bases()[0] ?? "", "/auth/login", { email: EMAIL, password: PASSWORD }),
      );
      const sessions = await json(
        await fetch(`${bases()[0]}/api/v1/auth/sessions`, {
          headers: { authorization: `Bearer ${body.access_token}` },
        }),
      );
      const current = sessions.sessions.find((s: { current: boolean }) => s.current);
      return { access: body.access_token, refresh: body.refresh_token, id: current.id };
    }

    beforeAll(async () => {
      await ensureRuntimeImage();
      agent = await startTestAgent();
      const env = { CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET };
      const first = await startTestServer(driver, { env });
      replicas.push(first);
      if (driver === "postgres") {
        replicas.push(await startTestServer(driver, { env, databaseUrl: first.databaseUrl ?? "" }));
      }
      await addNode(first.ctx.database.db, { name: "n", url: agent.url, fingerprint: agent.fingerprint });
      const created = await json(await post(first.url, "/auth/signup", { email: EMAIL, password: PASSWORD }));
      signUp = { access: created.access_token, refresh: created.refresh_token, id: "" };
      await post(first.url, "/session/spawn", {}, signUp.access);
      await waitFor(
        "running",
        async () =>
          (
            await json(
              await fetch(`${first.url}/api/v1/session`, {
                headers: { authorization: `Bearer ${signUp.access}` },
              }),
            )
          ).state,
        (s) => s === "running",
        120_000,
      );
    });
    afterAll(async () => {
      // The second replica shares the first one's database: close it first, the first drops it.
      for (const replica of replicas.reverse()) await replica.close();
      await agent?.stop();
      if (agent) await cleanupNode(agent.nodeId);
    });

    test("sign-out closes that sign-in's sockets on every replica, and only those", async () => {
      const victim = await signIn();
      const bystander = await signIn();
      const victimSockets = await Promise.all(bases().map((base) => openTerminal(base, victim.access)));
      const bystanderSocket = await openTerminal(bases()[0] ?? "", bystander.access);
      const since = Date.now();
      expect((await post(other(0), "/auth/logout", {}, victim.access)).status).toBe(204);
      for (const watched of victimSockets) await closedWithinASecond(watched, since);
      expect(await stillOpen(bystanderSocket)).toBe(true);
      bystanderSocket.ws.close();
    });

    test("revoking a sign-in from the list closes its sockets", async () => {
      const stolen = await signIn();
      const owner = await signIn();
      const sockets = await Promise.all(bases().map((base) => openTerminal(base, stolen.access)));
      const since = Date.now();
      const response = await fetch(`${other(0)}/api/v1/auth/sessions/${stolen.id}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${owner.access}` },
      });
      expect(response.status).toBe(204);
      for (const watched of sockets) await closedWithinASecond(watched, since);
    });

    test("a password change closes the other sign-ins' sockets, not the changer's", async () => {
      const stolen = await signIn();
      const owner = await signIn();
      const stolenSockets = await Promise.all(bases().map((base) => openTerminal(base, stolen.access)));
      const ownerSocket = await openTerminal(bases()[0] ?? "", owner.access);
      const since = Date.now();
      const changed = await post(
        other(0),
        "/auth/password",
        { current_password: PASSWORD, new_password: PASSWORD },
        owner.access,
      );
      // Same password again may be refused by policy; fall back to a fresh one and back.
      expect([204, 400]).toContain(changed.status);
      if (changed.status === 400) {
        const next = `${PASSWORD} two`;
        expect(
          (
            await post(
              other(0),
              "/auth/password",
              { current_password: PASSWORD, new_password: next },
              owner.access,
            )
          ).status,
        ).toBe(204);
        expect(
          (
            await post(
              other(0),
              "/auth/password",
              { current_password: next, new_password: PASSWORD },
              owner.access,
            )
          ).status,
        ).toBe(204);
      }
      for (const watched of stolenSockets) await closedWithinASecond(watched, since);
      expect(await stillOpen(ownerSocket)).toBe(true);
      ownerSocket.ws.close();
    });

    test("a personal access token opens the session sockets; revoking it closes them on every replica", async () => {
      const owner = await signIn();
      const created = await json(await post(bases()[0] ?? "", "/tokens", { name: "script" }, owner.access));
      expect(created.token).toMatch(/^cfp_/);
      const sockets = await Promise.all(bases().map((base) => openTerminal(base, created.token)));
      const ownerSocket = await openTerminal(bases()[0] ?? "", owner.access);
      const since = Date.now();
      const revoked = await fetch(`${other(0)}/api/v1/tokens/${created.id}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${owner.access}` },
      });
      expect(revoked.status).toBe(204);
      for (const watched of sockets) await closedWithinASecond(watched, since);
      expect(await stillOpen(ownerSocket)).toBe(true);
      ownerSocket.ws.close();
      const again = new WebSocket(`${bases()[0]?.replace("http", "ws")}/api/v1/session/terminal`, {
        headers: { authorization: `Bearer ${created.token}` },
      } as never);
      const refused = await new Promise<boolean>((resolve) => {
        again.onopen = () => resolve(false);
        again.onerror = () => resolve(true);
      });
      expect(refused).toBe(true);
    });

    test("refresh-token reuse revokes the family and closes its sockets", async () => {
      const victim = await signIn();
      const sockets = await Promise.all(bases().map((base) => openTerminal(base, victim.access)));
      const first = await json(
        await post(bases()[0] ?? "", "/auth/refresh", { refresh_token: victim.refresh }),
      );
      expect(
        (await post(bases()[0] ?? "", "/auth/refresh", { refresh_token: first.refresh_token })).status,
      ).toBe(200);
      for (const watched of sockets) expect(await stillOpen(watched)).toBe(true);
      const since = Date.now();
      // The oldest token again, two rotations later: reuse.
      expect((await post(other(0), "/auth/refresh", { refresh_token: victim.refresh })).status).toBe(401);
      for (const watched of sockets) await closedWithinASecond(watched, since);
    });

    // Last: it changes the password every other test signs in with.
    test("a password reset closes every sign-in's sockets on every replica", async () => {
      const a = await signIn();
      const b = await signIn();
      const sockets = [
        ...(await Promise.all(bases().map((base) => openTerminal(base, a.access)))),
        await openTerminal(bases()[0] ?? "", b.access),
      ];
      const me = await json(
        await fetch(`${bases()[0]}/api/v1/auth/me`, { headers: { authorization: `Bearer ${a.access}` } }),
      );
      const first = replicas[0] as TestServer;
      const link = await resetLinkFor(first.ctx.database.db, first.ctx.config, {
        id: me.user?.id ?? me.id,
        email: EMAIL,
      });
      const token = new URL(link).searchParams.get("token") ?? "";
      const since = Date.now();
      const confirmed = await post(other(0), "/auth/password-reset/confirm", {
        token,
        new_password: `${PASSWORD} after the reset`,
      });
      expect(confirmed.status).toBe(204);
      for (const watched of sockets) await closedWithinASecond(watched, since);
    });
  });
}
