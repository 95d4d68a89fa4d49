// The control plane with separate agent and server processes on one PostgreSQL: scheduling across
// two agents, and convergence after kill -9 of an agent or of the server in the middle of a spawn.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { type Database, openDatabase } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { asSystem } from "../../src/db/rls.ts";
import { agentSessions, plans, users } from "../../src/db/schema.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { createPgDatabase } from "../helpers/db.ts";
import { cleanupNode, dockerLeftovers, ensureRuntimeImage, TEST_CLUSTER_SECRET } from "../helpers/fleet.ts";
import { type AgentProcess, agentProcess, type ServerProcess, serverProcess } from "../helpers/processes.ts";
import { waitFor } from "../helpers/wait.ts";

const PASSWORD = "correct horse battery staple";

/** GET /session at most 240 times a minute: faster polling would hit the plan's 300/min API limit. */
const SESSION_POLL_MS = 250;

describe("fleet with separate processes [postgres]", () => {
  let dbUrl = "";
  let drop = async () => {};
  let database: Database;
  let agents: AgentProcess[] = [];
  let server: ServerProcess;
  const serverEnv = () => ({
    DATABASE_URL: dbUrl,
    CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET,
    CLAWFLEET_RECONCILE_INTERVAL: "1s",
    CLAWFLEET_SPAWN_RETRY_AFTER: "2s",
  });

  async function user(name: string) {
    const response = await fetch(`${server.url}/api/v1/auth/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email: `${name}-${crypto.randomUUID().slice(0, 6)}@example.test`,
        password: PASSWORD,
      }),
    });
    const body = (await response.json()) as { access_token: string; user: { id: string } };
    await asSystem(database.db, (tx) =>
      tx.update(users).set({ planId: "ultra" }).where(eq(users.id, body.user.id)),
    );
    const call = (path: string, method = "GET") =>
      fetch(`${server.url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${body.access_token}` },
      }).then((r) => r.json() as Promise<Record<string, any>>);
    return { id: body.user.id, call, authorization: `Bearer ${body.access_token}` };
  }

  beforeAll(async () => {
    await ensureRuntimeImage();
    const created = await createPgDatabase();
    dbUrl = created.url;
    drop = created.drop;
    database = await openDatabase({ databaseUrl: dbUrl, dataDir: null });
    await migrate(database.db);
    // Volumes are preallocated: 16 GiB per ultra container would need more disk than a CI machine
    // may have free. Placement is about memory; the volume only needs to exist.
    await asSystem(database.db, (tx) => tx.update(plans).set({ diskMb: 256 }).where(eq(plans.id, "ultra")));
    // Ultra plan: 2048 MB each; capacity for two per node.
    agents = await Promise.all([
      agentProcess(TEST_CLUSTER_SECRET, { CLAWFLEET_AGENT_CAPACITY: "cpu=8000,memory=4200,containers=10" }),
      agentProcess(TEST_CLUSTER_SECRET, { CLAWFLEET_AGENT_CAPACITY: "cpu=8000,memory=4200,containers=10" }),
    ]);
    await addNode(database.db, {
      name: "a",
      url: agents[0]?.url ?? "",
      fingerprint: agents[0]?.fingerprint ?? "",
    });
    await addNode(database.db, {
      name: "b",
      url: agents[1]?.url ?? "",
      fingerprint: agents[1]?.fingerprint ?? "",
    });
    server = await serverProcess(serverEnv());
  });

  afterAll(async () => {
    await server?.kill();
    for (const agent of agents) {
      await agent.kill();
      await cleanupNode(agent.nodeId);
    }
    await database?.close();
    await drop();
  });

  test("spawns are spread over both agents by free capacity; a full fleet is a clear failure", async () => {
    // Wait until the reconciler has recorded both nodes' capacity.
    const u1 = await user("s1");
    await waitFor(
      "capacity known",
      async () => (await u1.call("/session")).state,
      () => true,
      5000,
    );
    await Bun.sleep(1500);
    const placed: string[] = [];
    for (const name of ["s1b", "s2", "s3", "s4"]) {
      const u = await user(name);
      await u.call("/session/spawn", "POST");
      const s = await waitFor(
        `${name} running`,
        () => u.call("/session"),
        (v) => v.state === "running" || v.state === "failed",
        60_000,
        SESSION_POLL_MS,
      );
      // The reason is in the message when it failed, so a failure says why.
      expect({ state: s.state, reason: s.failure_reason }).toEqual({ state: "running", reason: null });
      placed.push(s.node);
    }
    expect(placed.filter((n) => n === "a")).toHaveLength(2);
    expect(placed.filter((n) => n === "b")).toHaveLength(2);
    const fifth = await user("s5");
    await fifth.call("/session/spawn", "POST");
    const failed = await waitFor(
      "fifth fails",
      () => fifth.call("/session"),
      (v) => v.state === "failed",
      60_000,
      SESSION_POLL_MS,
    );
    expect(failed.failure_reason).toMatch(/full/);
  });

  test("an agent killed mid-spawn and restarted converges to running", async () => {
    // Make room: kill everything placed so far.
    const rows = await asSystem(database.db, (tx) => tx.select().from(agentSessions));
    for (const row of rows)
      await asSystem(database.db, (tx) =>
        tx.update(agentSessions).set({ state: "none", nodeId: null }).where(eq(agentSessions.id, row.id)),
      );
    await waitFor(
      "orphans removed",
      async () =>
        agents
          .map((a) =>
            // Session containers (the warm pool's sandboxes are nobody's and stay).
            Bun.spawnSync([
              "docker",
              "ps",
              "-q",
              "--filter",
              `label=clawfleet.node=${a.nodeId}`,
              "--filter",
              "label=clawfleet.managed=1",
            ])
              .stdout.toString()
              .trim(),
          )
          .join(""),
      (v) => v === "",
      30_000,
    );
    const u = await user("agentcrash");
    await u.call("/session/spawn", "POST");
    // Kill the agent that got it as soon as its container exists.
    const sessionId = await waitFor(
      "session row",
      async () =>
        (
          await asSystem(database.db, (tx) =>
            tx.select().from(agentSessions).where(eq(agentSessions.userId, u.id)),
          )
        )[0],
      (r) => Boolean(r?.nodeId),
    );
    const nodeOf = async () => (await u.call("/session")).node as string;
    const node = await nodeOf();
    const agent = node === "a" ? agents[0] : agents[1];
    await waitFor(
      "container created",
      async () => dockerLeftovers(sessionId?.id ?? "").containers.length,
      (n) => n > 0,
      20_000,
    );
    await agent?.kill();
    expect((await u.call("/session")).state).not.toBe("failed");
    await agent?.start();
    const s = await waitFor(
      "converged",
      () => u.call("/session"),
      (v) => v.state === "running" || v.state === "failed",
      60_000,
      SESSION_POLL_MS,
    );
    expect(s.state).toBe("running");
    expect(dockerLeftovers(sessionId?.id ?? "").containers).toHaveLength(1);
  });

  test("two replicas: a spawn started on one is finished by the other's reconciler after the first is killed", async () => {
    const other = await serverProcess(serverEnv());
    try {
      const u = await user("servercrash");
      // Signed up on the first replica; the second serves the same token below.
      await u.call("/session/spawn", "POST");
      await server.kill();
      const [row] = await asSystem(database.db, (tx) =>
        tx.select().from(agentSessions).where(eq(agentSessions.userId, u.id)),
      );
      expect(row?.state).toBe("spawning");
      const viaOther = (path: string) =>
        fetch(`${other.url}/api/v1${path}`, { headers: { authorization: u.authorization } }).then(
          (r) => r.json() as Promise<Record<string, any>>,
        );
      const s = await waitFor(
        "converged on the other replica",
        () => viaOther("/session"),
        (v) => v.state === "running" || v.state === "failed",
        60_000,
      );
      expect(s.state).toBe("running");
      expect(dockerLeftovers(row?.id ?? "").containers).toHaveLength(1);
    } finally {
      server = other;
    }
  });

  test("the reconciler marks a lost container failed and removes a container no session wants", async () => {
    const u = await user("lost");
    await u.call("/session/spawn", "POST");
    await waitFor(
      "running",
      () => u.call("/session"),
      (v) => v.state === "running",
      60_000,
      SESSION_POLL_MS,
    );
    const [row] = await asSystem(database.db, (tx) =>
      tx.select().from(agentSessions).where(eq(agentSessions.userId, u.id)),
    );
    Bun.spawnSync(["docker", "rm", "-f", `clawfleet-${row?.id}`]);
    const failed = await waitFor(
      "marked failed",
      () => u.call("/session"),
      (v) => v.state === "failed",
      20_000,
      SESSION_POLL_MS,
    );
    expect(failed.failure_reason).toMatch(/lost/);

    const v = await user("orphan");
    await v.call("/session/spawn", "POST");
    await waitFor(
      "running",
      () => v.call("/session"),
      (s) => s.state === "running",
      60_000,
      SESSION_POLL_MS,
    );
    const [orphan] = await asSystem(database.db, (tx) =>
      tx.select().from(agentSessions).where(eq(agentSessions.userId, v.id)),
    );
    await asSystem(database.db, (tx) =>
      tx.delete(agentSessions).where(eq(agentSessions.id, orphan?.id ?? "")),
    );
    await waitFor(
      "orphan removed",
      async () => dockerLeftovers(orphan?.id ?? "").containers.length,
      (n) => n === 0,
      20_000,
    );
  });
});
