// The per-user container lifecycle. User actions are decided under a row lock (so double clicks and
// concurrent requests agree on one outcome), then carried out against the node's agent outside the
// transaction. Every write after an agent call is conditional on the session's generation.
import { eq } from "drizzle-orm";
import { AgentRequestError } from "../../agent/api/client.ts";
import type { Logger } from "../../common/log.ts";
import { audit } from "../audit.ts";
import type { Db } from "../db/client.ts";
import { agentSessions } from "../db/schema.ts";
import { UserError } from "../errors.ts";
import type { AgentContainer } from "../fleet/agent_port.ts";
import type { Fleet } from "../fleet/fleet.ts";
import type { NodeRow } from "../fleet/nodes.ts";
import { FleetFullError } from "../fleet/scheduler.ts";
import { shredVolumeKey } from "../secrets/volume_keys.ts";
import { SessionChanges } from "./session_changes.ts";
import { applyEvent, getSessionById, planFor, type SessionRow, withUserSession } from "./sessions_repo.ts";
import { beginSteps, endSteps, enterStep, nodeStepOf, withNodeTimings } from "./spawn_steps.ts";
import { type SessionAction, type SessionEvent, type SpawnStep, transition } from "./state_machine.ts";
import { upgradeAvailable, upgradeSession } from "./upgrade.ts";
import { recordSpawn } from "./usage.ts";
import { recordWake } from "./wake.ts";

/** A container action refused (a UserError: the API and console word it in their one place). */
export class LifecycleError extends UserError {}

export type LifecycleDeps = {
  db: Db;
  log: Logger;
  fleet: Fleet;
  /** The session's volume key (base64), made on first use; sent to its node with spawn and restore. */
  /** The session's volume key, and whether it was made by this call (sessionVolumeKey). */
  volumeKeyFor(session: { userId: string; sessionId: string }): Promise<{ key: string; created: boolean }>;
  defaultTemplate: string;
};

export class Lifecycle {
  private readonly spawning = new Set<string>();
  /** Each write of a spawn job, for clients waiting on it (GET /api/v1/session?wait=N). */
  readonly changes = new SessionChanges();
  /** The agents, node loads and placement this lifecycle works with. */
  readonly fleet: Fleet;
  constructor(private readonly deps: LifecycleDeps) {
    this.fleet = deps.fleet;
  }

  /** A user's action: returns the state to answer 202 with; the work continues in the background. */
  async request(
    userId: string,
    action: SessionAction,
    ip: string | null,
    options: { template?: string } = {},
  ): Promise<SessionRow> {
    const { row, previous } = await withUserSession(this.deps.db, userId, async (current, tx) => {
      const next = transition(current, { type: action });
      if (next.kind === "refuse") throw new LifecycleError(409, "invalid_state", next.message);
      if (next.kind === "already") return { row: current, previous: null };
      // Freeze and restore are written once the agent has done them (pauseOrResume).
      if (action === "freeze" || action === "restore") return { row: current, previous: current };
      // Crypto-shredding comes first: the stored volume key goes with the decision, before the node is
      // even asked to remove anything, so the image's blocks are noise whatever happens next.
      if (action === "kill") await shredVolumeKey(tx, current.id);
      const [updated] = await tx
        .update(agentSessions)
        .set({
          ...next.patch,
          // A spawn runs the template the user picked, else the default (not the previous one's).
          ...(action === "spawn"
            ? { template: options.template ?? this.deps.defaultTemplate, spawnSteps: beginSteps(new Date()) }
            : {}),
          updatedAt: new Date(),
          lastActivityAt: new Date(),
        })
        .where(eq(agentSessions.id, current.id))
        .returning();
      return { row: updated ?? current, previous: current };
    });
    if (!previous) return row;
    const audited = audit(this.deps.db, { action: `session.${action}`, userId, target: row.id, ip });
    // Awaited on every path below; this only keeps a failure from being reported as unhandled first.
    audited.catch(() => {});
    switch (action) {
      case "spawn":
        // Only a failed session still names its node (a kill clears it): the failed container goes,
        // the volume stays for the new one on the same node (only a kill discards a volume).
        if (previous.nodeId) await this.removeQuietly(previous.nodeId, row.id, "drop");
        // The spawn job does not wait for the audit entry (written beside it, before the answer).
        this.startSpawn(row);
        await audited;
        return row;
      case "kill":
        await audited;
        await this.removeQuietly(previous.nodeId, row.id);
        return row;
      case "freeze":
      case "restore":
        await audited;
        return this.pauseOrResume(previous, action);
    }
  }

  private async pauseOrResume(row: SessionRow, action: "freeze" | "restore"): Promise<SessionRow> {
    const found = await this.deps.fleet.agentForNode(row.nodeId);
    if (!found)
      throw new LifecycleError(409, "no_node", "The container's node is gone. Kill it and spawn again.");
    const { agent } = found;
    let wakeAt: Date | null = null;
    try {
      if (action === "freeze") {
        const answer = await agent.freeze(row.id);
        const at = answer ? Date.parse(answer.wakeAt ?? "") : Number.NaN;
        wakeAt = Number.isFinite(at) ? new Date(at) : null;
      } else await agent.restore(row.id, await this.volumeFor(row));
    } catch (error) {
      if (error instanceof AgentRequestError && error.code === "busy") {
        throw new LifecycleError(
          409,
          "busy",
          "Your assistant is working right now (a reply or a schedule). Freeze it once it is done.",
        );
      }
      this.deps.log.warn("agent refused a lifecycle action", { action, session: row.id, error });
      throw new LifecycleError(
        502,
        "agent_error",
        "The node could not do that right now. Try again shortly.",
      );
    }
    await applyEvent(this.deps.db, row, { type: action });
    await recordWake(this.deps.db, row, wakeAt);
    return { ...row, state: action === "freeze" ? "frozen" : "running" };
  }

  /** Recreates the container on its template's current image, keeping its volume (upgrade.ts). */
  upgrade(userId: string, ip: string | null): Promise<SessionRow> {
    return upgradeSession(this.deps, (row) => this.volumeFor(row), userId, ip);
  }

  /** Whether the container's template now names a newer image than it runs. */
  upgradeAvailable(userId: string): Promise<boolean> {
    return upgradeAvailable(this.deps, userId);
  }

  /** What a node needs to mount the session's volume. */
  async volumeFor(row: Pick<SessionRow, "id" | "userId">): Promise<{ key: string; fresh?: true }> {
    const { key, created } = await this.deps.volumeKeyFor({ userId: row.userId, sessionId: row.id });
    return created ? { key, fresh: true } : { key };
  }

  /** `drop` keeps the session's volume on the node (for its next spawn); `remove` destroys it too. */
  private async removeQuietly(nodeId: string | null, sessionId: string, how: "drop" | "remove" = "remove") {
    const found = await this.deps.fleet.agentForNode(nodeId);
    if (!found) return;
    try {
      if (how === "drop" && found.agent.drop) await found.agent.drop(sessionId);
      else await found.agent.remove(sessionId);
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
    // Every write of the job wakes clients waiting on it (GET /api/v1/session?wait=N).
    const apply = (event: SessionEvent) =>
      applyEvent(db, row, event).finally(() => this.changes.notify(row.id));
    // Each write carries the timeline so far (spawn_steps.ts); a resumed spawn carries on the stored one.
    let timeline = row.spawnSteps.length ? row.spawnSteps : beginSteps(new Date());
    const step = (progress: Exclude<SpawnStep, "ready">, nodeId?: string) => {
      timeline = enterStep(timeline, progress, new Date());
      return apply({ type: "progress", step: progress, nodeId, steps: timeline });
    };
    const fail = (reason: string) => apply({ type: "fail", reason, steps: endSteps(timeline, new Date()) });

    // The volume key depends on nothing but the session: prepared beside the plan and placement.
    const preparing = this.volumeFor(row).then(
      (volume) => ({ volume }),
      (error: unknown) => ({ error }),
    );
    const plan = await planFor(db, row.userId);
    if (!plan) return;
    let node: NodeRow;
    try {
      node = (await this.deps.fleet.agentForNode(row.nodeId))?.node ?? (await this.deps.fleet.place(plan));
    } catch (error) {
      await fail(error instanceof FleetFullError ? error.message : "No node could take the container.");
      return;
    }
    if (!(await step("creating", node.id))) return;

    // No keys travel with the spawn: the node's provider gateway fetches them when the container
    // needs them (src/gateway/), so a key change reaches a running container without a restart.
    const agent = this.deps.fleet.agentFor(node);
    const prepared = await preparing;
    if (!("volume" in prepared)) {
      log.error("could not prepare the volume key for a spawn", { session: row.id, error: prepared.error });
      await fail("Your container's storage key could not be prepared. Try again.");
      return;
    }
    let volume = prepared.volume;
    let lastStep: SpawnStep = "creating";
    // A look still under way when the spawn ends must not write an older step over its outcome.
    let watching = true;
    let look: Promise<unknown> = Promise.resolve();
    const watcher = setInterval(() => {
      look = (async () => {
        const seen = await agent.get(row.id).catch(() => null);
        const next = seen ? nodeStepOf(seen.status) : undefined;
        if (watching && next && next !== lastStep) {
          lastStep = next;
          await step(next);
        }
      })();
    }, 250);
    const stopWatching = () => {
      clearInterval(watcher);
      watching = false;
      return look.catch(() => {});
    };
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
        volume,
      });
    } catch (error) {
      await stopWatching();
      if (error instanceof AgentRequestError && error.code === "node_out_of_disk") {
        // The node answered: it has no disk for the plan's volume. Retrying there cannot help.
        log.warn("node out of disk for a spawn", { session: row.id, node: node.id });
        await agent.remove(row.id).catch(() => {});
        await fail("The node has no disk left for your plan's storage. Try again later, or ask your admin.");
        return;
      }
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
      volume = { key: "" };
    }
    await stopWatching();
    const landed = await apply({
      type: "ready",
      nodeId: node.id,
      dockerId: container.dockerId,
      steps: withNodeTimings(timeline, container.spawnSteps, new Date()),
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
}
