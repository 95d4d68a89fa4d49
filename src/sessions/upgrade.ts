// Upgrade keeping data: the container is recreated on its template's current image (whatever the
// template's tag points to on the node now) with the same encrypted volume, the same network and the
// same gateway token, so history, memory, schedules and sealed channel credentials survive. A frozen
// container comes back running. The node does it in one idempotent spawn with `replace`.
import { and, eq } from "drizzle-orm";
import { audit } from "../audit.ts";
import { asSystem } from "../db/rls.ts";
import { agentSessions } from "../db/schema.ts";
import { type LifecycleDeps, LifecycleError } from "./lifecycle.ts";
import { getSessionView, planFor, type SessionRow, withUserSession } from "./sessions_repo.ts";

export async function upgradeSession(
  deps: LifecycleDeps,
  volumeFor: (row: SessionRow) => Promise<{ key: string }>,
  userId: string,
  ip: string | null,
): Promise<SessionRow> {
  const row = await withUserSession(deps.db, userId, async (current) => current);
  if (row.state !== "running" && row.state !== "frozen") {
    throw new LifecycleError(409, "invalid_state", "Only a running or frozen container can be upgraded.");
  }
  const found = await deps.fleet.agentForNode(row.nodeId);
  if (!found)
    throw new LifecycleError(409, "no_node", "The container's node is gone. Kill it and spawn again.");
  const plan = await planFor(deps.db, row.userId);
  if (!plan) throw new LifecycleError(409, "no_plan", "Your account has no plan.");
  let volume = await volumeFor(row);
  let dockerId: string;
  try {
    const container = await found.agent.spawn({
      sessionId: row.id,
      template: row.template || deps.defaultTemplate,
      limits: {
        cpuMillis: plan.cpuMillis,
        memoryMb: plan.memoryMb,
        pidsLimit: plan.pidsLimit,
        diskMb: plan.diskMb,
      },
      volume,
      replace: true,
    });
    dockerId = container.dockerId;
  } catch (error) {
    deps.log.warn("upgrade failed on the agent", { session: row.id, error });
    throw new LifecycleError(
      502,
      "agent_error",
      "The node could not upgrade the container. Try again shortly.",
    );
  } finally {
    volume = { key: "" };
  }
  // Guarded by the generation: a kill or respawn that happened meanwhile wins.
  const [updated] = await asSystem(deps.db, (tx) =>
    tx
      .update(agentSessions)
      .set({ state: "running", dockerId, updatedAt: new Date(), lastActivityAt: new Date() })
      .where(and(eq(agentSessions.id, row.id), eq(agentSessions.generation, row.generation)))
      .returning(),
  );
  await audit(deps.db, { action: "session.upgrade", userId, target: row.id, ip });
  return updated ?? row;
}

/**
 * Whether an upgrade would move the user's container to another image: its node compares the image
 * it runs with the one its template's tag names now. False without a live container or an answer.
 */
export async function upgradeAvailable(deps: LifecycleDeps, userId: string): Promise<boolean> {
  const view = await getSessionView(deps.db, userId);
  const row = view?.session;
  if (!row || (row.state !== "running" && row.state !== "frozen")) return false;
  const found = await deps.fleet.agentForNode(row.nodeId);
  const container = await found?.agent.get(row.id).catch(() => null);
  return container?.imageCurrent === false;
}
