// The per-user container lifecycle. User actions are decided under a row lock (so double clicks and
// concurrent requests agree on one outcome), then carried out against the node's agent outside the
// transaction. Every write after an agent call is conditional on the session's generation.
import { eq } from "drizzle-orm";
import { AgentRequestError } from "../../agent/api/client.ts";
import type { Logger } from "../../common/log.ts";
import { audit } from "../audit.ts";
import type { Db } from "../db/client.ts";
import { agentSessions } from "../db/schema.ts";
import type { AgentConnector, AgentContainer, NodeAgent } from "../fleet/agent_port.ts";
import { getNode, listNodes, type NodeRow, recordHealth } from "../fleet/nodes.ts";
import { FleetFullError, type NodeLoad, pickNode } from "../fleet/scheduler.ts";
import {
  activeSessions,
  getSessionById,
  patchIfCurrent,
  planFor,
  type SessionRow,
  withUserSession,
} from "./sessions_repo.ts";
import { decide, type SessionAction, type SpawnStep } from "./state_machine.ts";
import { recordSpawn } from "./usage.ts";

export class LifecycleError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type LifecycleDeps = {
  db: Db;
  log: Logger;
  connect: AgentConnector;
  /** The one place keys are decrypted: provider → key, for this spawn request only. */
  secretsFor(userId: string): Promise<Record<string, string>>;
  defaultTemplate: string;
};

const STATUS_STEP: Record<string, SpawnStep> = {
  creating: "creating",
  created: "starting",
  starting: "starting",
  waiting: "waiting for the gateway",
  running: "waiting for the gateway",
  ready: "ready",
};

export class Lifecycle {
  private readonly spawning = new Set<string>();
  constructor(private readonly deps: LifecycleDeps) {}

  agentFor(node: Pick<NodeRow, "id" | "url" | "fingerprint"> & Partial<NodeRow>): NodeAgent {
    const { id, url, fingerprint, name, secretKeyId, secretNonce, secretCiphertext } = node;
    return this.deps.connect({ id, url, fingerprint, name, secretKeyId, secretNonce, secretCiphertext });
  }

  private async nodeById(id: string | null): Promise<NodeRow | null> {
    return id ? getNode(this.deps.db, id) : null;
  }

  /** A user's action: returns the state to answer 202 with; the work continues in the background. */
  async request(userId: string, action: SessionAction, ip: string | null): Promise<SessionRow> {
    const { row, previous } = await withUserSession(this.deps.db, userId, async (current, tx) => {
      const decision = decide(action, current.state);
      if (decision.kind === "refuse") throw new LifecycleError(409, "invalid_state", decision.message);
      if (decision.kind === "already") return { row: current, previous: null };
      const patch: Partial<SessionRow> =
        action === "spawn"
          ? {
              state: "spawning",
              progress: "scheduled",
              failureReason: null,
              generation: current.generation + 1,
            }
          : action === "kill"
            ? {
                state: "none",
                progress: null,
                failureReason: null,
                nodeId: null,
                dockerId: null,
                generation: current.generation + 1,
              }
            : {};
      if (action === "spawn" || action === "kill") {
        const [updated] = await tx
          .update(agentSessions)
          .set({ ...patch, updatedAt: new Date(), lastActivityAt: new Date() })
          .where(eq(agentSessions.id, current.id))
          .returning();
        return { row: updated ?? current, previous: current };
      }
      return { row: current, previous: current };
    });
    if (!previous) return row;
    await audit(this.deps.db, { action: `session.${action}`, userId, target: row.id, ip });
    switch (action) {
      case "spawn":
        if (previous.nodeId) await this.removeQuietly(previous.nodeId, row.id);
        this.startSpawn(row);
        return row;
      case "kill":
        await this.removeQuietly(previous.nodeId, row.id);
        return row;
      case "freeze":
      case "restore":
        return this.pauseOrResume(previous, action);
    }
  }

  private async pauseOrResume(row: SessionRow, action: "freeze" | "restore"): Promise<SessionRow> {
    const node = await this.nodeById(row.nodeId);
    if (!node)
      throw new LifecycleError(409, "no_node", "The container's node is gone. Kill it and spawn again.");
    const agent = this.agentFor(node);
    try {
      if (action === "freeze") await agent.freeze(row.id);
      else await agent.restore(row.id);
    } catch (error) {
      this.deps.log.warn("agent refused a lifecycle action", { action, session: row.id, error });
      throw new LifecycleError(
        502,
        "agent_error",
        "The node could not do that right now. Try again shortly.",
      );
    }
    const state = action === "freeze" ? "frozen" : "running";
    await patchIfCurrent(this.deps.db, row.id, row.generation, { state });
    return { ...row, state };
  }

  private async removeQuietly(nodeId: string | null, sessionId: string) {
    const node = await this.nodeById(nodeId);
    if (!node) return;
    try {
      await this.agentFor(node).remove(sessionId);
    } catch (error) {
      // The reconciler removes what is left once the node answers again.
      this.deps.log.warn("container removal deferred", { session: sessionId, error });
    }
  }

  startSpawn(row: SessionRow): Promise<void> {
    const key = `${row.id}:${row.generation}`;
    if (this.spawning.has(key)) return Promise.resolve();
    this.spawning.add(key);
    const job = this.spawn(row)
      .catch((error) => this.deps.log.error("spawn job crashed", { session: row.id, error }))
      .finally(() => this.spawning.delete(key));
    return job;
  }

  isSpawningHere(row: SessionRow): boolean {
    return this.spawning.has(`${row.id}:${row.generation}`);
  }

  private async spawn(row: SessionRow): Promise<void> {
    const { db, log } = this.deps;
    const step = (progress: SpawnStep, extra: Parameters<typeof patchIfCurrent>[3] = {}) =>
      patchIfCurrent(db, row.id, row.generation, { progress, ...extra });
    const fail = async (reason: string) => {
      await patchIfCurrent(db, row.id, row.generation, {
        state: "failed",
        progress: null,
        failureReason: reason,
      });
    };

    const plan = await planFor(db, row.userId);
    if (!plan) return;
    let node: NodeRow;
    try {
      node = (await this.nodeById(row.nodeId)) ?? (await this.schedule(plan));
    } catch (error) {
      await fail(error instanceof FleetFullError ? error.message : "No node could take the container.");
      return;
    }
    if (!(await step("creating", { nodeId: node.id }))) return;

    const agent = this.agentFor(node);
    let secrets: Record<string, string>;
    try {
      secrets = await this.deps.secretsFor(row.userId);
    } catch (error) {
      log.error("could not prepare keys for a spawn", { session: row.id, error });
      await fail("Your keys could not be prepared. Re-add them and try again.");
      return;
    }
    let lastStep: SpawnStep = "creating";
    const watcher = setInterval(async () => {
      const seen = await agent.get(row.id).catch(() => null);
      const next = seen ? STATUS_STEP[seen.status] : undefined;
      if (next && next !== lastStep && next !== "ready") {
        lastStep = next;
        await step(next);
      }
    }, 250);
    let container: AgentContainer;
    try {
      container = await agent.spawn({
        sessionId: row.id,
        template: row.template || this.deps.defaultTemplate,
        limits: {
          cpuMillis: plan.cpuMillis,
          memoryMb: plan.memoryMb,
          pidsLimit: plan.pidsLimit,
          diskMb: plan.diskMb,
        },
        secrets,
      });
    } catch (error) {
      clearInterval(watcher);
      if (error instanceof AgentRequestError && error.status === 503) {
        // The node went away mid-spawn: leave the session spawning; the reconciler drives it again
        // (the agent's spawn is idempotent) once the node answers, or fails it after the timeout.
        log.warn("node unreachable during spawn; the reconciler will retry", {
          session: row.id,
          node: node.id,
        });
        return;
      }
      log.warn("spawn failed on the agent", { session: row.id, node: node.id, error });
      await agent.remove(row.id).catch(() => {});
      await fail(`The container did not start: ${error instanceof Error ? error.message : "unknown error"}`);
      return;
    } finally {
      secrets = {};
    }
    clearInterval(watcher);
    const landed = await patchIfCurrent(db, row.id, row.generation, {
      state: "running",
      progress: "ready",
      dockerId: container.dockerId,
      nodeId: node.id,
    });
    if (!landed) {
      // Killed (or respawned) while we were starting it: what we started is not wanted any more.
      const now = await getSessionById(db, row.id);
      if (!now || now.nodeId !== node.id || now.state === "none") await agent.remove(row.id).catch(() => {});
      return;
    }
    await recordSpawn(db, plan.id);
    log.info("container running", { session: row.id, node: node.id });
  }

  async nodeLoads(): Promise<NodeLoad[]> {
    const [all, sessions] = await Promise.all([listNodes(this.deps.db), activeSessions(this.deps.db)]);
    return all.map((n) => {
      const mine = sessions.filter((s) => s.session.nodeId === n.id);
      return {
        id: n.id,
        state: n.state,
        capacity: n.capacity ?? { cpuMillis: 0, memoryMb: 0, containers: 0 },
        used: {
          cpuMillis: mine.reduce((a, s) => a + s.plan.cpuMillis, 0),
          memoryMb: mine.reduce((a, s) => a + s.plan.memoryMb, 0),
          containers: mine.length,
        },
      };
    });
  }

  private async schedule(plan: { cpuMillis: number; memoryMb: number }): Promise<NodeRow> {
    // A node registered since the last health check has no capacity on record yet: ask it now.
    for (const node of await listNodes(this.deps.db)) {
      if (node.state !== "active" || node.capacity) continue;
      const health = await this.agentFor(node)
        .health()
        .catch(() => null);
      if (health) await recordHealth(this.deps.db, node.id, health);
    }
    const chosen = pickNode(await this.nodeLoads(), plan);
    const node = await this.nodeById(chosen.id);
    if (!node) throw new FleetFullError();
    return node;
  }
}
