// Makes sure a user's container runs before a request is relayed to it: a frozen one is restored
// (through the lifecycle, like any restore), a starting one is waited for; both within a deadline, so
// a caller on the outside (a webhook sender, an app page) gets a clear 503 and Retry-After rather
// than a hanging request. Concurrent wakes of one user share one restore.

import type { Db } from "../db/client.ts";
import { UserError } from "../errors.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import { getSessionView, type SessionRow } from "../sessions/sessions_repo.ts";

/** The container is not there yet (or not any more): the caller answers 503 with Retry-After. */
export class ContainerWaking extends UserError {
  constructor(retryAfterSeconds: number) {
    super(503, "container_waking", "The container is starting. Retry shortly.", retryAfterSeconds);
  }
}

const POLL_MS = 250;
const RETRY_AFTER_SECONDS = 10;

const inFlight = new Map<string, Promise<void>>();

function restoreOnce(lifecycle: Lifecycle, userId: string, ip: string | null): Promise<void> {
  let restore = inFlight.get(userId);
  if (!restore) {
    restore = lifecycle
      .request(userId, "restore", ip)
      .then(() => undefined)
      .finally(() => inFlight.delete(userId));
    inFlight.set(userId, restore);
  }
  return restore;
}

async function currentSession(db: Db, userId: string): Promise<SessionRow | null> {
  return (await getSessionView(db, userId))?.session ?? null;
}

/** The running session, or ContainerWaking past `deadlineMs`, or a 409 when there is no container. */
export async function wakeSession(
  db: Db,
  lifecycle: Lifecycle,
  userId: string,
  ip: string | null,
  deadlineMs: number,
): Promise<SessionRow & { nodeId: string }> {
  const deadline = Date.now() + deadlineMs;
  let restoring: Promise<void> | null = null;
  let settled = false;
  let restoreFailed = false;
  for (;;) {
    const session = await currentSession(db, userId);
    if (!session || session.state === "none" || session.state === "failed")
      throw new UserError(409, "no_container", "This session has no container. Spawn it first.");
    if (session.state === "running" && session.nodeId) return session as SessionRow & { nodeId: string };
    if (session.state === "frozen" && !restoring) {
      restoring = restoreOnce(lifecycle, userId, ip)
        .catch(() => {
          restoreFailed = true;
        })
        .finally(() => {
          settled = true;
        });
    }
    const left = deadline - Date.now();
    if (left <= 0 || restoreFailed) throw new ContainerWaking(RETRY_AFTER_SECONDS);
    // Wake when the restore finishes or at the next poll, whichever is first, never past the deadline.
    const poll = Bun.sleep(Math.min(POLL_MS, left));
    await (restoring && !settled ? Promise.race([restoring, poll]) : poll);
  }
}
