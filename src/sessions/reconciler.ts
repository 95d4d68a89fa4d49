// Makes the database and the agents agree. Runs on one replica at a time (src/db/leader.ts):
// - node health is checked and recorded; an unreachable node is marked and skipped;
// - a container no active session wants is removed (the database lost it, or a kill's removal failed),
//   and so is a volume left without a container whose key is gone (src/sessions/leftover_volumes.ts);
// - a session whose container the agent lost is marked failed;
// - a spawn whose job died with its server (stale `spawning`) is driven again;
// - the container's run state follows the recorded intent (frozen ⇄ running); a running session's
//   stopped container is brought back, once (src/sessions/stopped_containers.ts);
// - running containers idle longer than their plan allows are frozen, unless a channel of theirs
//   polls (src/channels/polling_channels.ts);
// - frozen containers whose runtime asked to wake at a time (its next schedule) are restored then.

import type { Logger } from "../../common/log.ts";
import { keptAwakeByPolling } from "../channels/polling_channels.ts";
import type { Db } from "../db/client.ts";
import type { AgentContainer, NodeAgent } from "../fleet/agent_port.ts";
import { listNodes, recordHealth } from "../fleet/nodes.ts";
import { removeShreddedVolumes } from "./leftover_volumes.ts";
import type { Lifecycle } from "./lifecycle.ts";
import { activeSessions, applyEvent } from "./sessions_repo.ts";
import { endSteps } from "./spawn_steps.ts";
import { isRestarting, restartStopped } from "./stopped_containers.ts";
import { recordRunning } from "./usage.ts";
import { takeWake, wakeDue } from "./wake.ts";

export type ReconcilerOptions = { staleSpawnMs: number; spawnTimeoutMs: number; tickSeconds: number };

export async function reconcileOnce(
  db: Db,
  lifecycle: Lifecycle,
  log: Logger,
  opts: ReconcilerOptions,
  now = Date.now(),
): Promise<void> {
  const nodes = await listNodes(db);
  const runningByPlan = new Map<string, number>();

  // Every node's containers are listed before the sessions are read. A spawn names its node on the
  // session before it asks the node for the container, so every container listed here belongs to a
  // session the read below sees. Read the other way round, a spawn finishing between the two reads
  // looked like an orphan and its new container was removed.
  const listed: {
    node: (typeof nodes)[number];
    agent: NodeAgent;
    containers: AgentContainer[];
    leftoverVolumes: string[];
  }[] = [];
  for (const node of nodes) {
    const agent = lifecycle.fleet.agentFor(node);
    try {
      await recordHealth(db, node.id, await agent.health());
      log.debug("node healthy", { node: node.id });
      const containers = await agent.list();
      // A failed volume listing must not make a healthy node look unreachable.
      const leftoverVolumes =
        (await agent.leftoverVolumes?.().catch((error) => {
          log.warn("listing a node's leftover volumes failed", { node: node.id, error });
          return [];
        })) ?? [];
      log.debug("node listed", { node: node.id, containers: containers.length });
      listed.push({ node, agent, containers, leftoverVolumes });
    } catch (error) {
      await recordHealth(db, node.id, null, error instanceof Error ? error.message : "unreachable");
    }
  }
  const sessions = await activeSessions(db);
  log.debug("reconcile tick", { nodes: nodes.length, sessions: sessions.length });
  for (const { node, agent, containers, leftoverVolumes } of listed) {
    const here = sessions.filter((s) => s.session.nodeId === node.id);
    const wanted = new Set(here.map((s) => s.session.id));
    await removeShreddedVolumes(db, agent, leftoverVolumes, wanted, log);
    for (const container of containers) {
      if (!wanted.has(container.sessionId)) {
        log.info("removing a container no session wants", { session: container.sessionId, node: node.id });
        await agent
          .remove(container.sessionId)
          .catch((error) => log.warn("orphan removal failed", { error }));
      }
    }
    for (const { session, plan } of here) {
      const container = containers.find((c) => c.sessionId === session.id);
      if (session.state === "spawning" || isRestarting(session.id)) continue;
      if (!container) {
        await applyEvent(db, session, {
          type: "fail",
          reason: "The container was lost on its node. Spawn it again: its files are still there.",
        });
        continue;
      }
      if (session.state === "running" && container.status === "exited") {
        await restartStopped(db, lifecycle, agent, session, log, now);
        continue;
      }
      if (wakeDue(session, now)) {
        if (await takeWake(db, session)) {
          log.info("waking a frozen container for its schedule", { session: session.id });
          await lifecycle
            .request(session.userId, "restore", null)
            .catch((error) => log.warn("wake-up restore failed", { session: session.id, error }));
        }
        continue;
      }
      if (session.state === "frozen" && !container.paused) await agent.freeze(session.id).catch(() => {});
      // A plan change (or a node that could not grow it online before) reaches the volume here.
      if (container.volumeMb !== undefined && container.volumeMb < plan.diskMb)
        await agent
          .growVolume(session.id, plan.diskMb)
          .catch((error) => log.warn("volume growth failed", { session: session.id, error }));
      if (session.state === "running" && container.paused)
        await lifecycle
          .volumeFor(session)
          .then((volume) => agent.restore(session.id, volume))
          .catch(() => {});
      if (session.state === "running") {
        runningByPlan.set(plan.id, (runningByPlan.get(plan.id) ?? 0) + 1);
        const idleMs = now - session.lastActivityAt.getTime();
        if (idleMs > plan.idleFreezeMinutes * 60_000 && !keptAwakeByPolling(session)) {
          log.info("freezing an idle container", { session: session.id });
          await lifecycle
            .request(session.userId, "freeze", null)
            .catch((error) => log.warn("idle freeze failed", { error }));
        }
      }
    }
  }

  for (const { session } of sessions) {
    if (session.state !== "spawning" || lifecycle.isSpawningHere(session)) continue;
    if (now - session.lastActivityAt.getTime() > opts.spawnTimeoutMs) {
      await applyEvent(db, session, {
        type: "fail",
        reason: "The container could not be started in time. Spawn it again.",
        steps: endSteps(session.spawnSteps, new Date(now)),
      });
      continue;
    }
    if (now - session.updatedAt.getTime() < opts.staleSpawnMs) continue;
    log.info("resuming an interrupted spawn", { session: session.id });
    void lifecycle.startSpawn(session);
  }

  if (runningByPlan.size) await recordRunning(db, runningByPlan, opts.tickSeconds);
}
