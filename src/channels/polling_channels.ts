// Which containers must not be idle-frozen because a channel of theirs polls (Telegram without a
// public URL: a frozen container cannot poll, and no webhook would wake it). The container reports
// it when its channels are read or changed through the platform; the mark names that container.
import { eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";
import { agentSessions } from "../db/schema.ts";
import type { SessionRow } from "../sessions/sessions_repo.ts";

export async function recordPollingChannel(
  db: Db,
  sessionId: string,
  dockerId: string | null,
): Promise<void> {
  await asSystem(db, (tx) =>
    tx.update(agentSessions).set({ pollingContainerId: dockerId }).where(eq(agentSessions.id, sessionId)),
  );
}

/** True while the session's current container has a polling channel. */
export function keptAwakeByPolling(session: Pick<SessionRow, "pollingContainerId" | "dockerId">): boolean {
  return session.pollingContainerId !== null && session.pollingContainerId === session.dockerId;
}
