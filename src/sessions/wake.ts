// Schedules that fire while frozen: at a freeze the runtime tells its node when its next schedule is
// due (agent freeze → `wakeAt`), the session keeps that time, and the reconciler restores the
// container then. The restore counts as activity, so the idle freeze leaves it time to do the work
// (and the node refuses a freeze while the runtime reports work in progress).
import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";
import { agentSessions } from "../db/schema.ts";
import type { SessionRow } from "./sessions_repo.ts";

/** After a freeze, the time to wake (null: none); after a restore, null. */
export async function recordWake(db: Db, row: Pick<SessionRow, "id" | "generation">, wakeAt: Date | null) {
  await asSystem(db, (tx) =>
    tx
      .update(agentSessions)
      .set({ wakeAt })
      .where(and(eq(agentSessions.id, row.id), eq(agentSessions.generation, row.generation))),
  );
}

/** True when a frozen session's schedule is due and it should be restored now. */
export function wakeDue(row: Pick<SessionRow, "state" | "wakeAt">, now: number): boolean {
  return row.state === "frozen" && row.wakeAt !== null && row.wakeAt.getTime() <= now;
}

/** Marks the wake as taken (once) and the session active; false if another replica took it. */
export async function takeWake(
  db: Db,
  row: Pick<SessionRow, "id" | "generation" | "wakeAt">,
): Promise<boolean> {
  if (!row.wakeAt) return false;
  const taken = await asSystem(db, (tx) =>
    tx
      .update(agentSessions)
      .set({ wakeAt: null, lastActivityAt: new Date() })
      .where(
        and(
          eq(agentSessions.id, row.id),
          eq(agentSessions.generation, row.generation),
          eq(agentSessions.wakeAt, row.wakeAt as Date),
        ),
      )
      .returning({ id: agentSessions.id }),
  );
  return taken.length > 0;
}
