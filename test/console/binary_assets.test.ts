// The compiled server, copied alone into an empty folder, serves the console: its pages and every
// browser file (htmx, xterm.js and its fit addon, the console's CSS and scripts) come from the binary.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { freePort, tempDir, waitForHttp } from "../helpers/process.ts";

const root = join(import.meta.dir, "../..");
const buildDir = tempDir("cf-console-build");
const runDir = tempDir("cf-console-run");
let proc: ReturnType<typeof Bun.spawn> | null = null;
let base = "";

beforeAll(async () => {
  const build = Bun.spawnSync(
    [process.execPath, "build", "--compile", "src/main.ts", "--outfile", join(buildDir, "clawfleet")],
    { cwd: root, stderr: "pipe" },
  );
  expect(build.exitCode).toBe(0);
  copyFileSync(join(buildDir, "clawfleet"), join(runDir, "clawfleet"));
  expect(readdirSync(runDir)).toEqual(["clawfleet"]);
  const port = await freePort();
  proc = Bun.spawn([join(runDir, "clawfleet"), "serve"], {
    cwd: runDir,
    env: { PATH: "/usr/bin:/bin", PORT: String(port), DOCKER_SOCKET: "/nonexistent.sock" },
    stdout: "ignore",
    stderr: "ignore",
  });
  base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/healthz`, 30_000);
});

afterAll(async () => {
  proc?.kill("SIGTERM");
  await proc?.exited;
  rmSync(buildDir, { recursive: true, force: true });
  rmSync(runDir, { recursive: true, force: true });
});

test("the sign-in page links only files the binary serves, byte for byte as shipped", async () => {
  const page = await fetch(`${base}/login`);
  expect(page.status).toBe(200);
  expect(page.headers.get("content-type")).toContain("text/html");
  const html = await page.text();
  const linked = [...html.matchAll(/(?:src|href)="(\/static\/[^"]+)"/g)].map((m) => m[1] ?? "");
  expect(linked.length).toBeGreaterThanOrEqual(4);
  for (const path of linked) {
    const response = await fetch(`${base}${path}`);
    expect({ path, status: response.status }).toEqual({ path, status: 200 });
    expect(response.headers.get("cache-control")).toContain("immutable");
  }
  const shipped: Record<string, string> = {
    "htmx.min.js": "node_modules/htmx.org/dist/htmx.min.js",
    "xterm.js": "node_modules/@xterm/xterm/lib/xterm.js",
    "xterm.css": "node_modules/@xterm/xterm/css/xterm.css",
    "addon-fit.js": "node_modules/@xterm/addon-fit/lib/addon-fit.js",
    "console.css": "views/static/console.css",
    "console.js": "views/static/console.client.js",
    "chat.js": "views/static/chat.client.js",
    "chat-tools.js": "views/static/chat_tools.client.js",
    "terminal.js": "views/static/terminal.client.js",
  };
  for (const [name, source] of Object.entries(shipped)) {
    const served = await (await fetch(`${base}/static/${name}`)).text();
    expect({ name, same: served === (await Bun.file(join(root, source)).text()) }).toEqual({
      name,
      same: true,
    });
  }
  expect((await fetch(`${base}/static/nope.js`)).status).toBe(404);
});
