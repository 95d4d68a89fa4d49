import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { parseEgressAllow } from "../../agent/egress.ts";
import { DEFAULT_BLOCKED, desiredRules, installFirewall, listRules } from "../../agent/firewall.ts";
import { ConfigError } from "../../common/config_error.ts";
import { TEST_EGRESS_ALLOW } from "../helpers/fleet.ts";

// The node's rules are global: leave what every test agent installs, not one of this test's lists.
afterAll(() => installFirewall(DEFAULT_BLOCKED, undefined, undefined, undefined, [TEST_EGRESS_ALLOW]));

test("agents installing their rules at the same moment leave the chains whole and in order", async () => {
  const firewall = join(import.meta.dir, "../../agent/firewall.ts");
  // Documentation ranges (RFC 5737) that no test's stand-in uses (192.0.2.0/24 can be a CI host's own).
  const ranges = [
    "198.51.100.0/25",
    "198.51.100.128/25",
    "203.0.113.0/24",
    "198.51.100.7",
    "203.0.113.99/32",
  ];
  const procs = Array.from({ length: 6 }, (_, i) =>
    Bun.spawn([
      process.execPath,
      "-e",
      `import { installFirewall } from ${JSON.stringify(firewall)}; for (let j = 0; j < 10; j++) installFirewall(["169.254.0.0/16"${i === 5 ? "" : `, ${JSON.stringify(ranges[i])}`}]);`,
    ]),
  );
  expect(await Promise.all(procs.map((p) => p.exited))).toEqual([0, 0, 0, 0, 0, 0]);
  const rules = listRules();
  const input = rules.filter((r) => r.startsWith("-A CLAWFLEET-INPUT"));
  expect(input).toEqual([
    "-A CLAWFLEET-INPUT -i cf-+ -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
    // The provider gateway's port, on the incoming bridge's own address only.
    "-A CLAWFLEET-INPUT -i cf-+ -p tcp -m tcp --dport 7480 -m addrtype --dst-type LOCAL --limit-iface-in -j ACCEPT",
    "-A CLAWFLEET-INPUT -i cf-+ -j DROP",
  ]);
  const forward = rules.filter((r) => r.startsWith("-A CLAWFLEET-FORWARD"));
  // One agent's complete set, never a mix: the final RETURN last, the metadata block present.
  expect(forward.at(-1)).toBe("-A CLAWFLEET-FORWARD -j RETURN");
  expect(forward).toContain("-A CLAWFLEET-FORWARD -d 169.254.0.0/16 -i cf-+ -j DROP");
  expect([desiredRules(["a"]).length, desiredRules(["a", "b"]).length]).toContain(forward.length + 3);
  // The jumps into our chains exist exactly once each, IPv4 and IPv6.
  const jumps = (cmd: string, chain: string, line: string) =>
    Bun.spawnSync([cmd, "-S", chain])
      .stdout.toString()
      .split("\n")
      .filter((l) => l === line).length;
  expect(jumps("iptables", "INPUT", "-A INPUT -j CLAWFLEET-INPUT")).toBe(1);
  expect(jumps("iptables", "DOCKER-USER", "-A DOCKER-USER -j CLAWFLEET-FORWARD")).toBe(1);
  expect(jumps("ip6tables", "INPUT", "-A INPUT -j CLAWFLEET-INPUT")).toBe(1);
  expect(jumps("ip6tables", "FORWARD", "-A FORWARD -j CLAWFLEET-FORWARD")).toBe(1);
});

test("a malformed blocked range is refused before anything is installed", () => {
  const calls: string[][] = [];
  const record = (args: string[]) => {
    calls.push(args);
    return { code: 0, stdout: "", stderr: "" };
  };
  expect(() =>
    installFirewall(["10.0.0.0/8", "10.0.0.256"], record, () => ({ code: 0, stderr: "" })),
  ).toThrow("not an IPv4 address or CIDR: 10.0.0.256");
  expect(calls).toEqual([]);
});

test("every non-public range is blocked by default; opened ones return first; link-local never opens", () => {
  const forward = desiredRules(DEFAULT_BLOCKED, undefined, ["10.1.2.0/24"]).map((r) => r.rule.join(" "));
  for (const range of ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8"]) {
    expect(forward).toContain(`-i cf-+ -d ${range} -j DROP`);
  }
  for (const range of [
    "169.254.0.0/16",
    "0.0.0.0/8",
    "192.0.0.0/24",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
  ]) {
    expect(forward).toContain(`-i cf-+ -d ${range} -j DROP`);
  }
  const opened = forward.indexOf("-i cf-+ -d 10.1.2.0/24 -j RETURN");
  expect(opened).toBeGreaterThan(forward.indexOf("-i cf-+ -o br-+ -j DROP"));
  expect(opened).toBeLessThan(forward.indexOf("-i cf-+ -d 10.0.0.0/8 -j DROP"));
  expect(parseEgressAllow(" 10.9.8.7 , 192.168.5.0/24")).toEqual(["10.9.8.7/32", "192.168.5.0/24"]);
  for (const bad of [
    "169.254.169.254",
    "169.0.0.0/8",
    "0.0.0.0/0",
    "fd00::/8",
    "10.0.0.1/33",
    "example.com",
  ]) {
    expect(() => parseEgressAllow(bad)).toThrow(ConfigError);
  }
});
