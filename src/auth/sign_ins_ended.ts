// "These sign-ins have ended", told to every replica: a PostgreSQL NOTIFY sent inside the transaction
// that revokes, so it is delivered exactly when (and only if) the revocation commits, to every process
// LISTENing on the database (PGlite: the one process, through the same mechanism). Each replica then
// closes the sockets it holds for them (src/proxy/open_sockets.ts).
import { sql } from "drizzle-orm";
import { isUuid, type Tx } from "../db/rls.ts";

export const SIGN_INS_ENDED_CHANNEL = "clawfleet_sign_ins_ended";

export type SignInsEnded = { userId: string; signInId: string | null; except: string | null };

export async function notifySignInsEnded(tx: Tx, event: SignInsEnded): Promise<void> {
  const payload = JSON.stringify({ u: event.userId, s: event.signInId, x: event.except });
  await tx.execute(sql`select pg_notify(${SIGN_INS_ENDED_CHANNEL}, ${payload})`);
}

/** The event in a notification's payload, or null for anything malformed. */
export function parseSignInsEnded(payload: string): SignInsEnded | null {
  try {
    const { u, s, x } = JSON.parse(payload) as Record<string, unknown>;
    const idOrNull = (v: unknown) => (v === null || isUuid(v) ? (v as string | null) : undefined);
    const signInId = idOrNull(s);
    const except = idOrNull(x);
    if (!isUuid(u) || signInId === undefined || except === undefined) return null;
    return { userId: u, signInId, except };
  } catch {
    return null;
  }
}
