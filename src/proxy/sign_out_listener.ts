// Closes this replica's sockets when any replica ends a sign-in (src/auth/sign_ins_ended.ts).
import type { Logger } from "../../common/log.ts";
import { parseSignInsEnded, SIGN_INS_ENDED_CHANNEL } from "../auth/sign_ins_ended.ts";
import type { Database } from "../db/client.ts";
import type { OpenSockets } from "./open_sockets.ts";

export function closeSocketsOnSignOut(database: Database, sockets: OpenSockets, log: Logger) {
  return database.listen(SIGN_INS_ENDED_CHANNEL, (payload) => {
    const event = parseSignInsEnded(payload);
    if (!event) return log.warn("ignored a malformed sign-out notification");
    const closed = sockets.ended(event);
    if (closed) log.info("closed sockets of ended sign-ins", { user: event.userId, sockets: closed });
  });
}
