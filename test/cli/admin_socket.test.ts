// Administration commands while `serve` runs on the embedded database (which one process holds):
// they go through the server's admin socket in the data dir, mode 0600, and answer exactly as they
// would with the server stopped. A socket left by a killed server is ignored and then replaced.
import { afterAll, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { dockerInspect, ensureRuntimeImage } from "../helpers/fleet.ts";
import { tempDir } from "../helpers/process.ts";
import { type ServerProcess, serverProcess } from "../helpers/processes.ts";
import { TEST_MASTER_KEYS } from "../helpers/server.ts";
import { waitFor } from "../helpers/wait.ts";

const root = join(import.meta.dir, "../..");
const dataDir = join(tempDir("cf-adminsock"), "data");
const env = { CLAWFLEET_DATA_DIR: dataDir, CLAWFLEET_MASTER_KEYS: TEST_MASTER_KEYS };
let server: ServerProcess | null = null;

function cli(args: string[], stdin?: string) {
  const proc = Bun.spawnSync([process.execPath, "src/main.ts", ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", CLAWFLEET_LOG_LEVEL: "error", ...env },
    stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: proc.exitCode, out: proc.stdout.toString(), err: proc.stderr.toString() };
}

afterAll(async () => {
  await server?.kill();
});

test("commands work while serve runs, through a 0600 socket, and after a crash", async () => {
  server = await serverProcess(env);
  const socket = join(dataDir, "admin.sock");
  // The socket opens right after the HTTP listener that serverProcess waits for.
  await waitFor("admin socket", async () => existsSync(socket), Boolean, 10_000, 50);
  expect(statSync(socket).mode & 0o777).toBe(0o600);

  const created = cli(["admin", "create", "--email", "ops@example.test"], "harbour violet tandem 17\n");
  expect(created).toEqual({ code: 0, out: "administrator ops@example.test created\n", err: "" });
  // The running server has it at once.
  const login = await fetch(`${server.url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "ops@example.test", password: "harbour violet tandem 17" }),
  });
  expect(login.status).toBe(200);
  expect(((await login.json()) as { user: { is_admin: boolean } }).user.is_admin).toBe(true);

  // Refusals keep their exit code and message.
  const again = cli(["admin", "create", "--email", "ops@example.test"], "harbour violet tandem 17\n");
  expect(again.code).toBe(64);
  expect(again.err).toBe("clawfleet: an account for ops@example.test already exists\n");
  const weak = cli(["admin", "create", "--email", "weak@example.test"], "password123456\n");
  expect(weak.code).toBe(64);
  expect(weak.err).toContain("easy to guess");

  const fp = `sha256:${"ab:".repeat(31)}ab`;
  expect(
    cli(["nodes", "add", "--name", "n1", "--url", "https://10.0.0.5:7443", "--fingerprint", fp]).code,
  ).toBe(0);
  expect(cli(["nodes", "drain", "n1"]).out).toBe("node n1 draining\n");
  expect(cli(["nodes", "list"]).out).toMatch(/^n1\tdraining\thttps:\/\/10\.0\.0\.5:7443\tnever seen\n$/);
  const backupFile = join(tempDir("cf-adminsock-backup"), "b.cfb");
  const backup = cli(["backup", "--out", backupFile]);
  expect(backup.out).toContain(`backup written to ${backupFile}`);
  expect(statSync(backupFile).mode & 0o777).toBe(0o600);

  // A killed server leaves its socket behind: commands then open the database themselves…
  await server.kill();
  expect(existsSync(socket)).toBe(true);
  expect(cli(["nodes", "activate", "n1"]).out).toBe("node n1 active\n");
  // …and the next start replaces it.
  await server.start();
  // Until the new server has replaced the socket, a command may find the database held: retry.
  const listed = await waitFor(
    "nodes list through the new socket",
    async () => cli(["nodes", "list"]),
    (r) => r.code === 0,
    10_000,
    200,
  );
  expect(listed.out).toContain("n1\tactive");
  expect(statSync(socket).mode & 0o777).toBe(0o600);
}, 120_000);

test("`users plan` through the socket gives a running container the new limits live", async () => {
  await ensureRuntimeImage();
  // All-in-one: the server runs its own agent on this Docker engine.
  const liveDir = join(tempDir("cf-adminsock-live"), "data");
  const liveEnv = { CLAWFLEET_DATA_DIR: liveDir, CLAWFLEET_MASTER_KEYS: TEST_MASTER_KEYS };
  const live = await serverProcess({ ...liveEnv, CLAWFLEET_ALL_IN_ONE: "auto" });
  try {
    const email = `plan-live-${crypto.randomUUID().slice(0, 6)}@example.test`;
    const signup = await fetch(`${live.url}/api/v1/auth/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: "harbour violet tandem 17" }),
    });
    const { access_token: token } = (await signup.json()) as { access_token: string };
    const call = (path: string, method = "GET") =>
      fetch(`${live.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}` } }).then(
        (r) => r.json() as Promise<Record<string, any>>,
      );
    await call("/session/spawn", "POST");
    const running = await waitFor(
      "running",
      () => call("/session"),
      (s) => s.state === "running" || s.state === "failed",
      90_000,
      500,
    );
    expect(running.state).toBe("running");
    const memory = () => dockerInspect(running.container_id)?.HostConfig.Memory / (1024 * 1024);
    expect(memory()).toBe(512);
    const changed = Bun.spawnSync([process.execPath, "src/main.ts", "users", "plan", email, "pro"], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", CLAWFLEET_LOG_LEVEL: "error", ...liveEnv },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(changed.stdout.toString()).toBe(
      `${email} is now on plan pro (the running container has the new limits now)\n`,
    );
    expect(memory()).toBe(1024);
    await call("/session/kill", "POST");
  } finally {
    await live.kill();
  }
}, 180_000);
