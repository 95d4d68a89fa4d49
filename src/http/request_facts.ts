// What every route needs to know about where a request came from: the client's address, whether it
// arrived over HTTPS, and the origin our own pages would send. Shared by the API and console bases.
import { expectedOrigin } from "../auth/csrf.ts";
import type { AppContext } from "../context.ts";
import { clientIp, isSecureRequest, warnUntrustedForwarding } from "./client_ip.ts";

/** src/server.ts puts the socket peer here, after removing any client-sent value. */
export const PEER_HEADER = "x-clawfleet-peer";

export function requestFacts(
  ctx: AppContext,
  request: Request,
  server: { requestIP(request: Request): { address: string } | null } | null | undefined,
) {
  const peer = request.headers.get(PEER_HEADER) ?? server?.requestIP(request)?.address;
  const secure = isSecureRequest(request, peer, ctx.config.trustedProxies);
  warnUntrustedForwarding(ctx.log, request, peer, ctx.config.trustedProxies);
  return {
    ip: clientIp(request, peer, ctx.config.trustedProxies),
    secure,
    origin: expectedOrigin(request, ctx.config.publicUrl, secure),
  };
}
