// Why a browser that was signed in is not any more, so the sign-in page can say so instead of just
// appearing. Read from the refresh cookie the browser still sent: its sign-in (refresh family) and
// how that ended. Only a fixed code goes into the redirect, never text from the cookie or database.
import { eq } from "drizzle-orm";
import { REFRESH_COOKIE } from "../../auth/cookies.ts";
import type { AppContext } from "../../context.ts";
import { asSystem, isUuid } from "../../db/rls.ts";
import { signIns } from "../../db/schema.ts";

export type EndedReason = "elsewhere" | "password" | "security" | "expired";

export const ENDED_MESSAGES: Record<EndedReason, string> = {
  elsewhere: "You were signed out from another device. Sign in again to continue.",
  password: "Your password was changed, so this device was signed out. Sign in with the new password.",
  security:
    "You were signed out to protect your account: an old sign-in token was used again. Sign in again, and change your password if this was not you.",
  expired: "Your sign-in expired. Sign in again to continue.",
};

function refreshCookie(request: Request): string | null {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === REFRESH_COOKIE) return decodeURIComponent(rest.join("="));
  }
  return null;
}

export function isEndedReason(value: unknown): value is EndedReason {
  return typeof value === "string" && Object.hasOwn(ENDED_MESSAGES, value);
}

/** Null when the browser sent no sign-in, or one we cannot place (then there is nothing to explain). */
export async function endedSignInReason(ctx: AppContext, request: Request): Promise<EndedReason | null> {
  const familyId = refreshCookie(request)?.split(".")[0];
  if (!familyId || !isUuid(familyId)) return null;
  const [row] = await asSystem(ctx.database.db, (tx) =>
    tx
      .select({ revokedAt: signIns.revokedAt, reason: signIns.revokedReason, expiresAt: signIns.expiresAt })
      .from(signIns)
      .where(eq(signIns.id, familyId)),
  );
  if (!row) return null;
  if (row.revokedAt) {
    if (row.reason === "password changed" || row.reason === "password reset") return "password";
    if (row.reason === "refresh token reused") return "security";
    if (row.reason === "logout") return null;
    return "elsewhere";
  }
  return row.expiresAt.getTime() <= Date.now() ? "expired" : null;
}
