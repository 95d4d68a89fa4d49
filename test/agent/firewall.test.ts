import { expect, test } from "bun:test";
import { join } from "node:path";
import { desiredRules, listRules } from "../../agent/firewall.ts";

test("agents installing their rules at the same moment leave the chains whole and in order", async () => {
  const firewall = join(import.meta.dir, "../../agent/firewall.ts");
  const procs = Array.from({ length: 6 }, (_, i) =>
    Bun.spawn([
      process.execPath,
      "-e",
      `import { installFirewall } from ${JSON.stringify(firewall)}; for (let j = 0; j < 10; j++) installFirewall(["169.254.0.0/16"${i === 5 ? "" : `, "198.18.${250 + (i % 5)}.0/24"`}]);`,
    ]),
  );
  expect(await Promise.all(procs.map((p) => p.exited))).toEqual([0, 0, 0, 0, 0, 0]);
  const rules = listRules();
  const input = rules.filter((r) => r.startsWith("-A CLAWFLEET-INPUT"));
  expect(input).toEqual([
    "-A CLAWFLEET-INPUT -i cf-+ -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
    "-A CLAWFLEET-INPUT -i cf-+ -j DROP",
  ]);
  const forward = rules.filter((r) => r.startsWith("-A CLAWFLEET-FORWARD"));
  // One agent's complete set, never a mix: the final RETURN last, the metadata block present.
  expect(forward.at(-1)).toBe("-A CLAWFLEET-FORWARD -j RETURN");
  expect(forward).toContain("-A CLAWFLEET-FORWARD -d 169.254.0.0/16 -i cf-+ -j DROP");
  expect([desiredRules(["a"]).length, desiredRules(["a", "b"]).length]).toContain(forward.length + 2);
  // The jumps into our chains exist exactly once each.
  const inputJumps = Bun.spawnSync(["iptables", "-S", "INPUT"])
    .stdout.toString()
    .split("\n")
    .filter((l) => l === "-A INPUT -j CLAWFLEET-INPUT");
  expect(inputJumps.length).toBeGreaterThanOrEqual(1);
});
