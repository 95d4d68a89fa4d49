// The runtime as a process: configuration errors, start-up failures and SIGTERM.
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { freePort, tempDir, waitForHttp } from "../helpers/process.ts";

const MAIN = join(import.meta.dir, "../../runtime/main.ts");
const dataDir = tempDir("cf-runtime-main");
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function runMain(env: Record<string, string>) {
  return Bun.spawnSync([process.execPath, MAIN], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stderr: "pipe",
  });
}

test("a bad setting stops start-up with one line naming the variable, and exit code 78", () => {
  const proc = runMain({ PORT: "eighty", CLAWFLEET_DATA_DIR: dataDir });
  expect(proc.exitCode).toBe(78);
  expect(proc.stderr.toString()).toBe('clawfleet-runtime: PORT: "eighty" is not a whole number\n');
});

test("a data directory that cannot be used stops start-up with one clear line", () => {
  const proc = runMain({ PORT: "1", CLAWFLEET_DATA_DIR: "/dev/null/data" });
  expect(proc.exitCode).toBe(1);
  expect(proc.stderr.toString()).toStartWith("clawfleet-runtime: cannot start: ");
  expect(proc.stderr.toString().trim().split("\n")).toHaveLength(1);
});

test("SIGTERM stops the runtime promptly with exit code 0", async () => {
  const port = await freePort();
  const child = Bun.spawn([process.execPath, MAIN], {
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: String(port), CLAWFLEET_DATA_DIR: dataDir },
    stdout: "pipe",
  });
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, 10_000);
  const started = Date.now();
  child.kill("SIGTERM");
  expect(await child.exited).toBe(0);
  expect(Date.now() - started).toBeLessThan(3000);
  const output = await new Response(child.stdout).text();
  expect(output).toContain('"msg":"runtime stopped"');
});
