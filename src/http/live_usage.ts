// A container's live CPU, memory and process count, read from its node's agent (never stored per
// user). Shared by GET /api/v1/usage and the dashboard's live card.
import type { AppContext } from "../context.ts";
import { getNode } from "../fleet/nodes.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import type { getSessionView } from "../sessions/sessions_repo.ts";

export type LiveUsage = {
  cpu_percent: number;
  memory_bytes: number;
  memory_limit_bytes: number;
  pids: number;
};

type SessionRow = NonNullable<Awaited<ReturnType<typeof getSessionView>>>["session"];

/** Null when there is no running or frozen container, or its node does not answer. */
export async function liveUsage(
  ctx: AppContext,
  lifecycle: Lifecycle,
  session: SessionRow,
): Promise<LiveUsage | null> {
  if (!session?.nodeId || (session.state !== "running" && session.state !== "frozen")) return null;
  const node = await getNode(ctx.database.db, session.nodeId);
  const stats = node
    ? await lifecycle.fleet
        .agentFor(node)
        .stats(session.id)
        .catch(() => null)
    : null;
  if (!stats) return null;
  return {
    cpu_percent: stats.cpuPercent,
    memory_bytes: stats.memoryBytes,
    memory_limit_bytes: stats.memoryLimitBytes,
    pids: stats.pids,
  };
}
