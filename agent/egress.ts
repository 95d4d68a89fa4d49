// Where a user's container may send packets: the public internet only. Every IPv4 range that is not
// public is blocked by default, because a tenant reaching it reaches the node's private network (the
// database, other nodes' agent ports, internal admin pages), the carrier-grade NAT space some clouds
// route privately (100.64/10), or cloud metadata (169.254/16). The node's own addresses are refused
// separately (CLAWFLEET-INPUT drops everything a container sends to the node itself).
// The operator opens specific destinations with CLAWFLEET_EGRESS_ALLOW (an internal package mirror,
// say); link-local stays closed whatever is asked, since the metadata service lives there.
// IPv6 is refused outright: the agent's networks have no IPv6, and the firewall drops any IPv6 packet
// from a container's bridge (agent/firewall.ts).
// DNS is unaffected: containers ask Docker's resolver on 127.0.0.11 inside their own namespace, and
// dockerd forwards from the node, neither of which crosses these rules.
import { ConfigError } from "../common/config_error.ts";
import { formatCidr, inCidr, parseCidr } from "../common/ip.ts";

export const NON_PUBLIC_IPV4 = [
  "0.0.0.0/8", // "this network"
  "10.0.0.0/8", // private
  "100.64.0.0/10", // carrier-grade NAT, often a provider's internal network
  "127.0.0.0/8", // loopback
  "169.254.0.0/16", // link-local: cloud metadata
  "172.16.0.0/12", // private
  "192.0.0.0/24", // IETF protocol assignments
  "192.168.0.0/16", // private
  "198.18.0.0/15", // benchmarking
  "224.0.0.0/4", // multicast
  "240.0.0.0/4", // reserved, and broadcast
];

const LINK_LOCAL = parseCidr("169.254.0.0/16");

/** CLAWFLEET_EGRESS_ALLOW: IPv4 addresses or CIDRs, never IPv6 and never link-local. */
export function parseEgressAllow(raw: string | undefined): string[] {
  const allow: string[] = [];
  for (const entry of (raw ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const cidr = parseCidr(entry);
    if (!cidr) throw new ConfigError(`CLAWFLEET_EGRESS_ALLOW: "${entry}" is not an IPv4 address or CIDR`);
    if (cidr.family === 6) {
      throw new ConfigError(`CLAWFLEET_EGRESS_ALLOW: "${entry}": containers have no IPv6 egress to open`);
    }
    // Two ranges overlap when either contains the other's first address.
    const overlaps =
      LINK_LOCAL !== null &&
      (inCidr({ family: 4, value: cidr.value }, LINK_LOCAL) ||
        inCidr({ family: 4, value: LINK_LOCAL.value }, cidr));
    if (overlaps)
      throw new ConfigError(`CLAWFLEET_EGRESS_ALLOW: "${entry}" would open link-local (cloud metadata)`);
    allow.push(formatCidr(cidr));
  }
  return allow;
}
