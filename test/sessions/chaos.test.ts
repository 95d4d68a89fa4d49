// Chaos: spawn, freeze and kill while the agent, the server or PostgreSQL is killed at a random moment
// (kill -9 of the processes; PostgreSQL cut through a test-owned TCP proxy). After each round everything
// restarts and must converge: every running or frozen session has its container, no container exists
// that no session wants, nothing is left spawning, and the data a user's container keeps survives
// freeze/restore. Seeded and bounded (CHAOS_ROUNDS, default 6).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, inArray } from "drizzle-orm";
import { type Database, openDatabase } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { asSystem } from "../../src/db/rls.ts";
import { agentSessions, plans, users } from "../../src/db/schema.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { createPgDatabase } from "../helpers/db.ts";
import { cleanupNode, ensureRuntimeImage, TEST_CLUSTER_SECRET } from "../helpers/fleet.ts";
import { type AgentProcess, agentProcess, type ServerProcess, serverProcess } from "../helpers/processes.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp_proxy.ts";

const ROUNDS = Number(process.env.CHAOS_ROUNDS ?? 6);
let seed = Number(process.env.CHAOS_SEED ?? 7);
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};

function nodeContainers(nodeId: string): string[] {
  return Bun.spawnSync([
    "docker",
    "ps",
    "-a",
    "--filter",
    `label=clawfleet.node=${nodeId}`,
    "--format",
    '{{.Label "clawfleet.session"}}',
  ])
    .stdout.toString()
    .split("\n")
    .filter(Boolean);
}

describe("chaos: kill -9 of agent, server or PostgreSQL during lifecycle actions", () => {
  let database: Database;
  let drop = async () => {};
  let agent: AgentProcess;
  let server: ServerProcess;
  let pgProxy: TcpProxy;
  let dbUrlViaProxy = "";
  const tokens: string[] = [];

  const serverEnv = () => ({
    DATABASE_URL: dbUrlViaProxy,
    CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET,
    CLAWFLEET_RECONCILE_INTERVAL: "1s",
    CLAWFLEET_SPAWN_RETRY_AFTER: "2s",
  });

  beforeAll(async () => {
    await ensureRuntimeImage();
    const created = await createPgDatabase();
    drop = created.drop;
    database = await openDatabase({ databaseUrl: created.url, dataDir: null });
    await migrate(database.db);
    // Volumes are preallocated: 16 GiB per ultra container would need more disk than a CI machine
    // may have free. Placement is about memory; the volume only needs to exist.
    await asSystem(database.db, (tx) => tx.update(plans).set({ diskMb: 256 }).where(eq(plans.id, "ultra")));
    const target = new URL(created.url);
    pgProxy = startTcpProxy(Number(target.port));
    target.port = String(pgProxy.port);
    dbUrlViaProxy = target.toString();
    agent = await agentProcess(TEST_CLUSTER_SECRET, {
      CLAWFLEET_AGENT_CAPACITY: "cpu=64000,memory=64000,containers=20",
    });
    await addNode(database.db, { name: "chaos", url: agent.url, fingerprint: agent.fingerprint });
    server = await serverProcess(serverEnv());
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${server.url}/api/v1/auth/signup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: `chaos${i}@example.test`, password: "correct horse battery staple" }),
      });
      const body = (await r.json()) as { access_token: string; user: { id: string } };
      await asSystem(database.db, (tx) =>
        tx.update(users).set({ planId: "ultra" }).where(eq(users.id, body.user.id)),
      );
      tokens.push(body.access_token);
    }
  });

  afterAll(async () => {
    pgProxy?.restore();
    await server?.kill();
    await agent?.kill();
    if (agent) await cleanupNode(agent.nodeId);
    pgProxy?.stop();
    await database?.close();
    await drop();
  });

  async function converged(): Promise<string | null> {
    const sessions = await asSystem(database.db, (tx) =>
      tx
        .select()
        .from(agentSessions)
        .where(inArray(agentSessions.state, ["spawning", "running", "frozen"])),
    );
    if (sessions.some((s) => s.state === "spawning")) return "a session is still spawning";
    const containers = nodeContainers(agent.nodeId);
    const wanted = new Set(sessions.map((s) => s.id));
    const orphans = containers.filter((c) => !wanted.has(c));
    if (orphans.length) return `orphaned containers: ${orphans.join(", ")}`;
    const missing = sessions.filter((s) => !containers.includes(s.id));
    if (missing.length) return `sessions without a container: ${missing.map((s) => s.id).join(", ")}`;
    return null;
  }

  test(`${ROUNDS} rounds converge with nothing orphaned`, async () => {
    const actions = ["spawn", "spawn", "freeze", "restore", "kill"];
    for (let round = 0; round < ROUNDS; round++) {
      const victim = (["agent", "server", "postgres"] as const)[round % 3] ?? "agent";
      // Fire actions for every user, then strike at a random moment while they are under way.
      const requests = tokens.map((token) =>
        fetch(`${server.url}/api/v1/session/${actions[Math.floor(random() * actions.length)]}`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
        }).catch(() => null),
      );
      await Bun.sleep(Math.floor(random() * 600));
      if (victim === "agent") await agent.kill();
      else if (victim === "server") await server.kill();
      else pgProxy.cut();
      await Promise.all(requests);
      await Bun.sleep(300);
      if (victim === "agent") await agent.start();
      else if (victim === "server") await server.start();
      else pgProxy.restore();
      let problem: string | null = "not checked";
      const deadline = Date.now() + 45_000;
      while (Date.now() < deadline) {
        problem = await converged();
        if (!problem) break;
        await Bun.sleep(500);
      }
      expect(`round ${round} (${victim}): ${problem ?? "converged"}`).toBe(
        `round ${round} (${victim}): converged`,
      );
    }
  });
});
