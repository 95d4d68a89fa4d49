// After a plan change: the user's running or frozen container gets the new memory, CPU and pids limits
// at once through its node's agent (Docker updates a live container's cgroup). The disk size cannot
// change on a live container; it, and anything the agent could not apply, waits for the next spawn.
import type { plans } from "../db/schema.ts";
import type { NodeAgent } from "../fleet/agent_port.ts";
import { ACTIVE_STATES, type SessionRow } from "./sessions_repo.ts";

export type LimitsOutcome = "live" | "next_spawn" | "no_container";

export type LiveLimitsApplier = (
  session: SessionRow | null,
  plan: typeof plans.$inferSelect,
) => Promise<LimitsOutcome>;

export function liveLimitsApplier(
  agentForNode: (nodeId: string | null) => Promise<{ agent: NodeAgent } | null>,
  onError: (error: unknown) => void,
): LiveLimitsApplier {
  return async (session, plan) => {
    if (!session || !ACTIVE_STATES.includes(session.state)) return "no_container";
    if (session.state !== "running" && session.state !== "frozen") return "next_spawn";
    const agent = session.nodeId ? (await agentForNode(session.nodeId))?.agent : null;
    if (!agent?.updateLimits) return "next_spawn";
    try {
      await agent.updateLimits(session.id, {
        cpuMillis: plan.cpuMillis,
        memoryMb: plan.memoryMb,
        pidsLimit: plan.pidsLimit,
      });
      return "live";
    } catch (error) {
      // e.g. a memory limit below what the container uses now: Docker refuses, the respawn applies it.
      onError(error);
      return "next_spawn";
    }
  };
}
