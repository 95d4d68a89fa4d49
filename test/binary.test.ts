import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { freePort, tempDir, waitForHttp } from "./helpers/process.ts";

const root = join(import.meta.dir, "..");

describe("the compiled server binary, copied alone into an empty folder", () => {
  const buildDir = tempDir("cf-build");
  const runDir = tempDir("cf-run");
  const binary = join(runDir, "clawfleet");

  beforeAll(() => {
    const build = Bun.spawnSync(
      [process.execPath, "build", "--compile", "src/main.ts", "--outfile", join(buildDir, "clawfleet")],
      { cwd: root },
    );
    expect(build.exitCode).toBe(0);
    copyFileSync(join(buildDir, "clawfleet"), binary);
  });

  afterAll(() => {
    rmSync(buildDir, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  });

  test("serve with no configuration starts on PGlite in ./data and answers /healthz and /readyz", async () => {
    expect(readdirSync(runDir)).toEqual(["clawfleet"]);
    const port = await freePort();
    const proc = Bun.spawn([binary, "serve"], {
      cwd: runDir,
      env: { PATH: "/usr/bin:/bin", PORT: String(port), DOCKER_SOCKET: "/nonexistent.sock" },
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const health = await waitForHttp(`http://127.0.0.1:${port}/healthz`, 30_000);
      expect(await health.json()).toEqual({ status: "ok" });
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ database: "pglite" });
      expect(existsSync(join(runDir, "data", "pglite"))).toBe(true);
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
    const logs = await new Response(proc.stdout).text();
    for (const line of logs.trim().split("\n")) expect(() => JSON.parse(line)).not.toThrow();
    // The new database was made (and migrated) by a child `clawfleet migrate`, not in the server.
    expect(logs).toContain('"msg":"embedded database made"');
    expect(logs).not.toContain("migrations applied");
  });

  test("restarting on the same data dir keeps the database (no migration re-run)", async () => {
    const port = await freePort();
    const proc = Bun.spawn([binary, "serve"], {
      cwd: runDir,
      env: { PATH: "/usr/bin:/bin", PORT: String(port), DOCKER_SOCKET: "/nonexistent.sock" },
      stdout: "pipe",
    });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/readyz`, 30_000);
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
    const logs = await new Response(proc.stdout).text();
    expect(logs).not.toContain("migrations applied");
    expect(logs).not.toContain("embedded database made");
  });

  for (const [name, value] of [
    ["PORT", "not-a-port"],
    ["DATABASE_URL", "mysql://localhost/x"],
    ["CLAWFLEET_MASTER_KEYS", "k1:tooshort"],
  ] as const) {
    test(`a bad ${name} stops start-up with one clear line and a non-zero exit`, async () => {
      const proc = Bun.spawn([binary, "serve"], {
        cwd: runDir,
        env: { PATH: "/usr/bin:/bin", [name]: value },
        stdout: "pipe",
        stderr: "pipe",
      });
      const code = await proc.exited;
      const stderr = (await new Response(proc.stderr).text()).trim();
      expect(code).not.toBe(0);
      expect(stderr.split("\n")).toHaveLength(1);
      expect(stderr).toStartWith(`clawfleet: ${name}: `);
      if (name === "CLAWFLEET_MASTER_KEYS") expect(stderr).not.toContain("tooshort");
    });
  }
});
