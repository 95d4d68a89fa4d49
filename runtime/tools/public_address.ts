// Which addresses the http_fetch tool may reach: the public internet only, the same rule the agent's
// firewall enforces for the whole container (agent/egress.ts). Checking here as well gives the model a
// clear refusal instead of a timeout, and keeps a runtime outside the fleet (tests, a laptop) from
// fetching its host's private services. CLAWFLEET_FETCH_ALLOW opens specific ranges, as
// CLAWFLEET_EGRESS_ALLOW does for the firewall; link-local (cloud metadata) never opens.
import { type Cidr, inCidr, type ParsedIp, parseCidr, parseIp } from "../../common/ip.ts";

const NON_PUBLIC = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.0.2.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4",
  "240.0.0.0/4",
  "::/127", // unspecified and loopback
  "64:ff9b::/96", // NAT64: reaches an IPv4 address through the gateway
  "100::/64", // discard
  "2001:db8::/32", // documentation
  "fc00::/7", // unique local
  "fe80::/10", // link-local
  "ff00::/8", // multicast
].map((text) => parseCidr(text) as Cidr);

const LINK_LOCAL = [parseCidr("169.254.0.0/16") as Cidr, parseCidr("fe80::/10") as Cidr];

export function isPublicAddress(ip: ParsedIp, allow: Cidr[] = []): boolean {
  if (LINK_LOCAL.some((cidr) => inCidr(ip, cidr))) return false;
  if (allow.some((cidr) => inCidr(ip, cidr))) return true;
  return !NON_PUBLIC.some((cidr) => inCidr(ip, cidr));
}

/** CLAWFLEET_FETCH_ALLOW: a comma list of addresses or CIDRs; null names the bad entry. */
export function parseFetchAllow(raw: string | undefined): { allow: Cidr[]; bad: string | null } {
  const allow: Cidr[] = [];
  for (const entry of (raw ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const cidr = parseCidr(entry);
    if (!cidr) return { allow, bad: entry };
    allow.push(cidr);
  }
  return { allow, bad: null };
}

export { parseIp };
