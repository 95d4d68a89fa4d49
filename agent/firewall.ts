// iptables rules that keep user containers away from everything but the public internet.
// Two chains of our own, hooked first into INPUT and DOCKER-USER, matching every clawfleet bridge by
// its interface prefix (cf-+):
//   CLAWFLEET-INPUT    container → the node itself (any of its addresses: its services, the agent
//                      port): dropped, except replies to connections the node opened (the
//                      published-port proxy and readiness checks), and the provider gateway's one
//                      TCP port on the address of the bridge the packet came in on (addrtype
//                      --limit-iface-in: another bridge's address, or any other address of the
//                      node, stays closed). ACCEPT, not RETURN: it is the node's one deliberate
//                      opening, and a host firewall further down INPUT must not silently undo it.
//   CLAWFLEET-FORWARD  container → another container (another cf- bridge, docker0, any other Docker
//                      bridge br-…): dropped; then what the operator opened (CLAWFLEET_EGRESS_ALLOW)
//                      returns, and every non-public range (agent/egress.ts) is dropped.
// Everything else (public egress) continues through Docker's own rules. IPv6: the agent creates no
// IPv6 networks (Docker disables IPv6 in such containers); as a second wall, every IPv6 packet from a
// clawfleet bridge is dropped too. The rules are per node: with several agents on one host (tests),
// the last one started sets the blocked list.
import { isIpv4Cidr } from "./config.ts";
import { NON_PUBLIC_IPV4 } from "./egress.ts";
import { BRIDGE_PREFIX } from "./isolation.ts";
import { DEFAULT_GATEWAY_PORT } from "./provider_gateway/gateway.ts";

export const INPUT_CHAIN = "CLAWFLEET-INPUT";
export const FORWARD_CHAIN = "CLAWFLEET-FORWARD";
export const DEFAULT_BLOCKED = NON_PUBLIC_IPV4;

type Run = { code: number; stdout: string; stderr: string };
export type Iptables = (args: string[], family?: 4 | 6) => Run;
export type IptablesRestore = (rules: string, family?: 4 | 6) => { code: number; stderr: string };

function run(cmd: string[], stdin?: string): Run {
  try {
    const proc = Bun.spawnSync(cmd, {
      stdin: stdin === undefined ? undefined : new TextEncoder().encode(stdin),
      stdout: "pipe",
      stderr: "pipe",
    });
    return { code: proc.exitCode ?? 1, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
  } catch (error) {
    return { code: 127, stdout: "", stderr: `${cmd[0]}: ${(error as Error).message}` };
  }
}

export const runIptables: Iptables = (args, family = 4) =>
  run([family === 6 ? "ip6tables" : "iptables", "-w", "5", ...args]);

export const runIptablesRestore: IptablesRestore = (rules, family = 4) =>
  run([family === 6 ? "ip6tables-restore" : "iptables-restore", "-w", "5", "--noflush"], rules);

export class FirewallError extends Error {}

type Rule = { chain: string; rule: string[] };
const bridges = `${BRIDGE_PREFIX}+`;

export function desiredRules(
  blocked: string[],
  gatewayPort = DEFAULT_GATEWAY_PORT,
  allow: string[] = [],
): Rule[] {
  return [
    {
      chain: INPUT_CHAIN,
      rule: ["-i", bridges, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"],
    },
    {
      chain: INPUT_CHAIN,
      rule: [
        "-i",
        bridges,
        "-p",
        "tcp",
        "-m",
        "tcp",
        "--dport",
        String(gatewayPort),
        "-m",
        "addrtype",
        "--dst-type",
        "LOCAL",
        "--limit-iface-in",
        "-j",
        "ACCEPT",
      ],
    },
    { chain: INPUT_CHAIN, rule: ["-i", bridges, "-j", "DROP"] },
    { chain: FORWARD_CHAIN, rule: ["-i", bridges, "-o", bridges, "-j", "DROP"] },
    { chain: FORWARD_CHAIN, rule: ["-i", bridges, "-o", "docker0", "-j", "DROP"] },
    { chain: FORWARD_CHAIN, rule: ["-i", bridges, "-o", "br-+", "-j", "DROP"] },
    ...allow.map((cidr) => ({ chain: FORWARD_CHAIN, rule: ["-i", bridges, "-d", cidr, "-j", "RETURN"] })),
    ...blocked.map((cidr) => ({ chain: FORWARD_CHAIN, rule: ["-i", bridges, "-d", cidr, "-j", "DROP"] })),
    { chain: FORWARD_CHAIN, rule: ["-j", "RETURN"] },
  ];
}

export function desiredIpv6Rules(): Rule[] {
  return [
    { chain: INPUT_CHAIN, rule: ["-i", bridges, "-j", "DROP"] },
    { chain: FORWARD_CHAIN, rule: ["-i", bridges, "-j", "DROP"] },
    { chain: FORWARD_CHAIN, rule: ["-o", bridges, "-j", "DROP"] },
    { chain: FORWARD_CHAIN, rule: ["-j", "RETURN"] },
  ];
}

function restoreScript(rules: Rule[]): string {
  return [
    "*filter",
    `:${INPUT_CHAIN} - [0:0]`,
    `:${FORWARD_CHAIN} - [0:0]`,
    ...rules.map(({ chain, rule }) => `-A ${chain} ${rule.join(" ")}`),
    "COMMIT",
    "",
  ].join("\n");
}

/**
 * Installs (or re-installs, idempotently) the chains and the jumps into them. The chains are replaced
 * in one iptables-restore transaction: rebuilding them rule by rule would leave moments (or, with two
 * agents starting together, a final state) where the DROP stands before the rule that lets replies
 * through, and published ports would stop answering.
 */
export function installFirewall(
  blocked: string[],
  iptables: Iptables = runIptables,
  restore: IptablesRestore = runIptablesRestore,
  gatewayPort = DEFAULT_GATEWAY_PORT,
  allow: string[] = [],
): void {
  for (const cidr of [...blocked, ...allow]) {
    if (!isIpv4Cidr(cidr)) throw new FirewallError(`not an IPv4 address or CIDR: ${cidr}`);
  }
  for (const family of [4, 6] as const) {
    const must = (args: string[]) => {
      const result = iptables(args, family);
      if (result.code !== 0)
        throw new FirewallError(
          `ip${family === 6 ? "6" : ""}tables ${args.join(" ")}: ${result.stderr.trim()}`,
        );
    };
    // Without Docker's ip6tables support there is no IPv6 DOCKER-USER: hook FORWARD itself.
    const forwardParent = family === 4 ? "DOCKER-USER" : "FORWARD";
    if (family === 4 && iptables(["-n", "-L", "DOCKER-USER"], 4).code !== 0) must(["-N", "DOCKER-USER"]);
    const result = restore(
      restoreScript(family === 4 ? desiredRules(blocked, gatewayPort, allow) : desiredIpv6Rules()),
      family,
    );
    if (result.code !== 0)
      throw new FirewallError(`ip${family === 6 ? "6" : ""}tables-restore: ${result.stderr.trim()}`);
    for (const [parent, chain] of [
      ["INPUT", INPUT_CHAIN],
      [forwardParent, FORWARD_CHAIN],
    ] as const) {
      if (iptables(["-C", parent, "-j", chain], family).code !== 0) must(["-I", parent, "1", "-j", chain]);
    }
  }
}

/** The rules as iptables prints them (IPv6 ones prefixed "ip6 "), for /v1/health and the tests. */
export function listRules(iptables: Iptables = runIptables): string[] {
  const list = (family: 4 | 6) =>
    [INPUT_CHAIN, FORWARD_CHAIN].flatMap((chain) =>
      iptables(["-S", chain], family)
        .stdout.trim()
        .split("\n")
        .filter(Boolean)
        .map((line) => (family === 6 ? `ip6 ${line}` : line)),
    );
  return [...list(4), ...list(6)];
}
