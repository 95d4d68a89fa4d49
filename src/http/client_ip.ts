// The client's address: the socket peer, unless the peer is a trusted proxy, in which case the
// right-most untrusted address of X-Forwarded-For.

import { inCidr, parseCidr, parseIp } from "../../common/ip.ts";
import type { Logger } from "../../common/log.ts";

function normalise(ip: string): string {
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}

/** Whether an address lies in a rule: one address or a CIDR, IPv4 or IPv6 (common/ip.ts). */
export function ipMatches(ip: string, rule: string): boolean {
  const address = parseIp(ip);
  const range = parseCidr(rule);
  return Boolean(address && range && inCidr(address, range));
}

export function clientIp(request: Request, peer: string | undefined, trustedProxies: string[]): string {
  const remote = normalise(peer ?? "unknown");
  if (!trustedProxies.some((rule) => ipMatches(remote, rule))) return remote;
  const forwarded = (request.headers.get("x-forwarded-for") ?? "")
    .split(",")
    .map((s) => normalise(s.trim()))
    .filter(Boolean);
  for (let i = forwarded.length - 1; i >= 0; i--) {
    const hop = forwarded[i] ?? "";
    if (!trustedProxies.some((rule) => ipMatches(hop, rule))) return hop;
  }
  return remote;
}

/** Whether the original request was HTTPS: TLS on our socket, or a trusted proxy saying so. */
export function isSecureRequest(
  request: Request,
  peer: string | undefined,
  trustedProxies: string[],
): boolean {
  if (new URL(request.url).protocol === "https:") return true;
  const remote = normalise(peer ?? "");
  return (
    trustedProxies.some((rule) => ipMatches(remote, rule)) &&
    request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim() === "https"
  );
}

// Peers already warned about, so a busy proxy is named once rather than on every request.
const warnedPeers = new Set<string>();

/**
 * X-Forwarded-For from a peer we do not trust is ignored, which is right for a stranger but wrong
 * for an operator's own reverse proxy: every user would then share the proxy's address (one login
 * throttle, one rate limit for everybody). Say so loudly, once per peer.
 */
export function warnUntrustedForwarding(
  log: Logger,
  request: Request,
  peer: string | undefined,
  trustedProxies: string[],
): void {
  if (!request.headers.has("x-forwarded-for") || !peer) return;
  if (trustedProxies.some((rule) => ipMatches(peer, rule)) || warnedPeers.has(peer)) return;
  if (warnedPeers.size >= 1000) return;
  warnedPeers.add(peer);
  log.warn(
    "X-Forwarded-For from an untrusted peer is ignored: if this is your reverse proxy, list it in CLAWFLEET_TRUSTED_PROXIES, otherwise every user behind it shares one address for rate limits and the login throttle",
    { peer },
  );
}
