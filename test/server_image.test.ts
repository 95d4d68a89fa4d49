import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import pkg from "../package.json";
import { freePort, waitForHttp } from "./helpers/process.ts";

const root = join(import.meta.dir, "..");
const name = `cf-server-image-test-${crypto.randomUUID().slice(0, 8)}`;

afterAll(() => {
  Bun.spawnSync(["docker", "rm", "-f", "-v", name]);
});

test("the server image builds offline from the Dockerfile and serves /healthz", async () => {
  const build = Bun.spawnSync([process.execPath, "scripts/image_server.ts"], { cwd: root, stderr: "pipe" });
  expect(build.exitCode).toBe(0);
  const tag = `clawfleet:${pkg.version}`;
  const inspect = Bun.spawnSync(["docker", "image", "inspect", "--format", "{{.Config.User}}", tag]);
  expect(inspect.stdout.toString().trim()).toBe("10001:10001");

  const port = await freePort();
  const run = Bun.spawnSync([
    "docker",
    "run",
    "-d",
    "--name",
    name,
    "--read-only",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "-p",
    `127.0.0.1:${port}:3000`,
    tag,
  ]);
  expect(run.exitCode).toBe(0);
  const health = await waitForHttp(`http://127.0.0.1:${port}/healthz`, 30_000);
  expect(await health.json()).toEqual({ status: "ok" });
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
  expect(await ready.json()).toMatchObject({ status: "ready", database: "pglite" });
});
