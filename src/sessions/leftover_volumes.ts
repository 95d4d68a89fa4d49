// A kill shreds the session's volume key and then asks the node to remove the container and its
// volume. When that removal fails half-way (the agent died, an unmount stayed busy), the volume is
// left on the node with no container and nothing retries the kill. The reconciler removes such a
// volume once nothing can read it: its session wants nothing on this node and its key is gone from
// the database. A volume whose key is still stored (a failed session, whose container was lost) holds
// the user's data and is kept for their next spawn.
import { inArray } from "drizzle-orm";
import type { Logger } from "../../common/log.ts";
import type { Db } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";
import { volumeKeys } from "../db/schema.ts";
import type { NodeAgent } from "../fleet/agent_port.ts";

export async function removeShreddedVolumes(
  db: Db,
  agent: NodeAgent,
  leftovers: string[],
  wanted: Set<string>,
  log: Logger,
): Promise<void> {
  const candidates = leftovers.filter((id) => !wanted.has(id));
  if (candidates.length === 0 || !agent.removeLeftoverVolume) return;
  const keyed = await asSystem(db, (tx) =>
    tx
      .select({ sessionId: volumeKeys.sessionId })
      .from(volumeKeys)
      .where(inArray(volumeKeys.sessionId, candidates)),
  );
  const stillReadable = new Set(keyed.map((row) => row.sessionId));
  for (const sessionId of candidates) {
    if (stillReadable.has(sessionId)) continue;
    log.info("removing a volume whose key is gone", { session: sessionId });
    // The node refuses while a container or a spawn uses the volume: the next tick looks again.
    await agent
      .removeLeftoverVolume(sessionId)
      .catch((error) => log.warn("leftover volume removal failed", { session: sessionId, error }));
  }
}
