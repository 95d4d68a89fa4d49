// GET /api/v1/session?wait=N (1–30 s): while the session is spawning, the answer waits until its state
// or spawn step changes (or N seconds pass), so a client learns the moment its container is ready
// without polling every few milliseconds. This replica's spawn jobs wake the wait at once
// (sessions/session_changes.ts); a change written by another replica is read within RECHECK_MS. Each
// recheck asks again whether the caller is still signed in: a revocation ends the wait with a 401.

import { verifyPersonalToken } from "../auth/personal_tokens.ts";
import { isFamilyActive } from "../auth/refresh_tokens.ts";
import type { AppContext } from "../context.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import { RECHECK_MS } from "../sessions/session_changes.ts";
import { getSessionView } from "../sessions/sessions_repo.ts";
import type { Auth } from "./api_base.ts";
import { ApiError } from "./errors.ts";
import { presentSession } from "./session.ts";

export const MAX_WAIT_SECONDS = 30;

/** The `wait` query parameter: absent is 0 (answer at once); anything but 1–30 whole seconds is a 400. */
export function waitSeconds(raw: string | undefined): number {
  if (raw === undefined) return 0;
  const seconds = Number(raw);
  if (!/^\d{1,2}$/.test(raw) || seconds < 1 || seconds > MAX_WAIT_SECONDS)
    throw new ApiError(
      400,
      "invalid_wait",
      `wait must be a whole number of seconds from 1 to ${MAX_WAIT_SECONDS}.`,
    );
  return seconds;
}

async function stillSignedIn(ctx: AppContext, auth: Auth, request: Request): Promise<boolean> {
  if (auth.via === "token") {
    const presented = request.headers.get("authorization")?.slice(7).trim() ?? "";
    return (await verifyPersonalToken(ctx, presented))?.tokenId === auth.signInId;
  }
  return isFamilyActive(ctx.database.db, auth.userId, auth.signInId, ctx.auth.policy);
}

async function viewOf(ctx: AppContext, userId: string) {
  const view = await getSessionView(ctx.database.db, userId);
  if (!view) throw new ApiError(401, "unauthenticated", "Sign in to continue.");
  return view;
}

export async function sessionViewAfterChange(
  ctx: AppContext,
  lifecycle: Lifecycle,
  auth: Auth,
  request: Request,
  seconds: number,
) {
  const deadline = Date.now() + seconds * 1000;
  const first = await viewOf(ctx, auth.userId);
  let view = first;
  // Bounded: at most one recheck per RECHECK_MS until the deadline.
  for (let i = 0; i < (seconds * 1000) / RECHECK_MS + 1; i++) {
    const session = view.session;
    const changed = session?.state !== first.session?.state || session?.progress !== first.session?.progress;
    const remaining = deadline - Date.now();
    if (session?.state !== "spawning" || changed || remaining <= 0) break;
    await lifecycle.changes.next(session.id, Math.min(RECHECK_MS, remaining));
    if (!(await stillSignedIn(ctx, auth, request)))
      throw new ApiError(401, "unauthenticated", "Sign in to continue.");
    view = await viewOf(ctx, auth.userId);
  }
  return presentSession(view);
}
