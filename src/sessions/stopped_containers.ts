// A running session whose container stopped (its node rebooted, or Docker gave up restarting a
// crashing runtime) is brought back by the reconciler: the node recreates it on the same image, volume
// and network, with a new provider-gateway credential (agent restore). One that stops again within
// RESTART_WINDOW_MS of being brought back is not restarted in a loop: the session fails with a reason
// the user can act on; "Try again" respawns it on its node with its files.
import type { Logger } from "../../common/log.ts";
import type { Db } from "../db/client.ts";
import type { NodeAgent } from "../fleet/agent_port.ts";
import type { Lifecycle } from "./lifecycle.ts";
import { applyEvent, type SessionRow } from "./sessions_repo.ts";

export const RESTART_WINDOW_MS = 10 * 60_000;
const restartedAt = new Map<string, number>();
/** Restarts under way in this process: a tick meanwhile sees the same stop (or the gap while the
 * node swaps the container) and must neither count it twice nor call the container lost. */
const restarting = new Set<string>();

export function isRestarting(sessionId: string): boolean {
  return restarting.has(sessionId);
}

export async function restartStopped(
  db: Db,
  lifecycle: Lifecycle,
  agent: NodeAgent,
  session: SessionRow,
  log: Logger,
  now: number,
): Promise<void> {
  if (restarting.has(session.id)) return;
  const last = restartedAt.get(session.id);
  if (last !== undefined && now - last < RESTART_WINDOW_MS) {
    restartedAt.delete(session.id);
    await applyEvent(db, session, {
      type: "fail",
      reason: "Your container kept stopping on its node. Try again; your files are kept.",
    });
    return;
  }
  restarting.add(session.id);
  log.info("restarting a stopped container", { session: session.id });
  try {
    const volume = await lifecycle.volumeFor(session);
    await agent.restore(session.id, volume);
  } catch (error) {
    log.warn("restarting a stopped container failed", { session: session.id, error });
  } finally {
    restarting.delete(session.id);
    const now = Date.now();
    forgetOldRestarts(now);
    restartedAt.set(session.id, now);
  }
}

/** A restart older than the window no longer counts: dropped, so the map holds only recent ones. */
function forgetOldRestarts(now: number) {
  for (const [id, at] of restartedAt) if (now - at >= RESTART_WINDOW_MS) restartedAt.delete(id);
}

/** How many restarts this process still remembers (for tests). */
export function rememberedRestarts(): number {
  return restartedAt.size;
}
