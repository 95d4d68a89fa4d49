// iptables rules that keep user containers away from everything but the public internet.
// Two chains of our own, hooked first into INPUT and DOCKER-USER, matching every clawfleet bridge by
// its interface prefix (cf-+):
//   CLAWFLEET-INPUT    container → the node itself (its services, the agent port): dropped, except
//                      replies to connections the node opened (the published-port proxy).
//   CLAWFLEET-FORWARD  container → another container (another cf- bridge or docker0), or → a blocked
//                      range (169.254.0.0/16 by default, plus what the operator names): dropped.
// Everything else (public egress) continues through Docker's own rules.
import { BRIDGE_PREFIX } from "./isolation.ts";

export const INPUT_CHAIN = "CLAWFLEET-INPUT";
export const FORWARD_CHAIN = "CLAWFLEET-FORWARD";
export const DEFAULT_BLOCKED = ["169.254.0.0/16"];

export type Iptables = (args: string[]) => { code: number; stdout: string; stderr: string };

export const runIptables: Iptables = (args) => {
  const proc = Bun.spawnSync(["iptables", "-w", "5", ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: proc.exitCode ?? 1, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
};

export class FirewallError extends Error {}

export function desiredRules(blocked: string[]): { chain: string; rule: string[] }[] {
  const bridges = `${BRIDGE_PREFIX}+`;
  return [
    {
      chain: INPUT_CHAIN,
      rule: ["-i", bridges, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"],
    },
    { chain: INPUT_CHAIN, rule: ["-i", bridges, "-j", "DROP"] },
    { chain: FORWARD_CHAIN, rule: ["-i", bridges, "-o", bridges, "-j", "DROP"] },
    { chain: FORWARD_CHAIN, rule: ["-i", bridges, "-o", "docker0", "-j", "DROP"] },
    ...blocked.map((cidr) => ({ chain: FORWARD_CHAIN, rule: ["-i", bridges, "-d", cidr, "-j", "DROP"] })),
    { chain: FORWARD_CHAIN, rule: ["-j", "RETURN"] },
  ];
}

export type IptablesRestore = (rules: string) => { code: number; stderr: string };

export const runIptablesRestore: IptablesRestore = (rules) => {
  const proc = Bun.spawnSync(["iptables-restore", "-w", "5", "--noflush"], {
    stdin: new TextEncoder().encode(rules),
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: proc.exitCode ?? 1, stderr: proc.stderr.toString() };
};

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
): void {
  for (const cidr of blocked) {
    if (!/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(cidr))
      throw new FirewallError(`not an IPv4 address or CIDR: ${cidr}`);
  }
  const must = (args: string[]) => {
    const result = iptables(args);
    if (result.code !== 0) throw new FirewallError(`iptables ${args.join(" ")}: ${result.stderr.trim()}`);
  };
  if (iptables(["-n", "-L", "DOCKER-USER"]).code !== 0) must(["-N", "DOCKER-USER"]);
  const rules = [
    "*filter",
    `:${INPUT_CHAIN} - [0:0]`,
    `:${FORWARD_CHAIN} - [0:0]`,
    ...desiredRules(blocked).map(({ chain, rule }) => `-A ${chain} ${rule.join(" ")}`),
    "COMMIT",
    "",
  ].join("\n");
  const result = restore(rules);
  if (result.code !== 0) throw new FirewallError(`iptables-restore: ${result.stderr.trim()}`);
  for (const [parent, chain] of [
    ["INPUT", INPUT_CHAIN],
    ["DOCKER-USER", FORWARD_CHAIN],
  ] as const) {
    if (iptables(["-C", parent, "-j", chain]).code !== 0) must(["-I", parent, "1", "-j", chain]);
  }
}

/** The rules as iptables prints them, for /v1/health and the tests. */
export function listRules(iptables: Iptables = runIptables): string[] {
  return [INPUT_CHAIN, FORWARD_CHAIN].flatMap((chain) => iptables(["-S", chain]).stdout.trim().split("\n"));
}
