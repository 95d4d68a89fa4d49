// The tools in the real image, in a container started with the agent's isolation flags: the model
// (the fake provider in a network namespace, reached like a public server) drives the shell, the
// files under /data, http_fetch and a schedule; the schedule survives a `docker restart`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { FakeProvider, FakeReply } from "../../fakes/provider.ts";
import { ISOLATION_FLAGS } from "../../helpers/docker_flags.ts";
import { createNetns, type Netns, startFakeProviderInNetns } from "../../helpers/netns.ts";
import { waitForHttp } from "../../helpers/process.ts";
import { pinnedRuntimeImage } from "../../helpers/runtime_image.ts";
import { type Frame, GatewayClient } from "../gateway_client.ts";

const suffix = crypto.randomUUID().slice(0, 8);
const CONTAINER = `cf-runtime-tools-${suffix}`;
const VOLUME = `cf-runtime-tools-${suffix}`;
const OPENAI_KEY = `oai-${crypto.randomUUID()}`;
const ANTHROPIC_KEY = `ant-${crypto.randomUUID()}`;
const GATEWAY_TOKEN = `gw-${crypto.randomUUID()}`;

let netns: Netns;
let provider: FakeProvider;
let client: GatewayClient;

function docker(args: string[], allowFailure = false): { code: number; out: string; err: string } {
  const proc = Bun.spawnSync(["docker", ...args], { stdout: "pipe", stderr: "pipe" });
  const result = { code: proc.exitCode ?? -1, out: proc.stdout.toString(), err: proc.stderr.toString() };
  if (result.code !== 0 && !allowFailure) throw new Error(`docker ${args[0]} failed: ${result.err.trim()}`);
  return result;
}

async function connect(): Promise<void> {
  const port = docker(["port", CONTAINER, "8080/tcp"]).out.trim().split("\n")[0]?.split(":").at(-1);
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, 20_000);
  client = await GatewayClient.connect(`ws://127.0.0.1:${port}/gateway`, GATEWAY_TOKEN);
  await client.next((f) => f.type === "hello");
}

async function toolTurn(
  marker: string,
  calls: { name: string; input: Record<string, unknown> }[],
  provider = "openai",
) {
  const reply: FakeReply = { kind: "tool_calls", calls };
  await scriptWith([
    { match: marker, times: 1, reply },
    { match: marker, times: 1, reply: { kind: "text", chunks: ["Done."] } },
  ]);
  const outcome = await client.chat({ text: marker, provider }, 60_000);
  expect(outcome.error).toBeNull();
  return outcome.frames.filter((f: Frame) => f.type === "chat.tool_result");
}

async function scriptWith(rules: Parameters<FakeProvider["script"]>[0]) {
  await provider.script(rules);
  await provider.clearRequests();
}

beforeAll(async () => {
  // This checkout's image under a tag of its own: another checkout may rebuild the shared tag mid-test.
  const image = await pinnedRuntimeImage();
  netns = await createNetns();
  provider = await startFakeProviderInNetns(netns);
  const nsUrl = `http://${netns.address}`;
  docker([
    "run",
    "-d",
    "--name",
    CONTAINER,
    ...ISOLATION_FLAGS,
    "-p",
    "127.0.0.1::8080",
    "-v",
    `${VOLUME}:/data`,
    ...Object.entries({
      OPENAI_API_KEY: OPENAI_KEY,
      ANTHROPIC_API_KEY: ANTHROPIC_KEY,
      CLAWFLEET_DEFAULT_PROVIDER: "openai",
      CLAWFLEET_OPENAI_BASE_URL: `${nsUrl}/v1`,
      CLAWFLEET_ANTHROPIC_BASE_URL: nsUrl,
      CLAWFLEET_GATEWAY_TOKEN: GATEWAY_TOKEN,
      // The namespace stands in for the public internet (198.18/15 is otherwise refused).
      CLAWFLEET_FETCH_ALLOW: `${netns.address}/32`,
      CLAWFLEET_SHELL_MODE: "run",
    }).flatMap(([name, value]) => ["-e", `${name}=${value}`]),
    image,
  ]);
  await connect();
}, 120_000);

afterAll(async () => {
  client?.close();
  docker(["rm", "-f", "-v", CONTAINER], true);
  docker(["volume", "rm", "-f", VOLUME], true);
  await netns?.stop();
});

describe("tools in the real container", () => {
  test("shell: busybox in the container itself, as uid 1000 in /data, bounded by its timeout", async () => {
    const results = await toolTurn("shell-e2e", [
      { name: "shell", input: { command: "id -u; pwd; hostname; echo $OPENAI_API_KEY; ls /" } },
      { name: "shell", input: { command: "(sleep 40 &); sleep 20 & sleep 30", timeout_seconds: 1 } },
    ]);
    const lines = String(results[0]?.output).split("\n");
    expect(lines[0]).toBe("exit code 0");
    expect(lines[1]).toBe("1000");
    expect(lines[2]).toBe("/data");
    expect(lines[3]).toBe(docker(["inspect", "-f", "{{.Config.Hostname}}", CONTAINER]).out.trim());
    expect(String(results[0]?.output)).not.toContain(OPENAI_KEY);
    expect(results[1]?.status).toBe("error");
    expect(String(results[1]?.output)).toContain("timed out");
    // Everything the command started is gone, and the runtime (PID 1) collected the orphans: no zombie
    // is left holding a slot of the pids limit.
    const deadline = Date.now() + 15_000;
    let ps = "";
    while (Date.now() < deadline) {
      ps = docker(["exec", CONTAINER, "ps", "-o", "stat,args"]).out;
      if (!/sleep|\bZ\b/.test(ps)) break;
      await Bun.sleep(500);
    }
    expect(ps).not.toContain("sleep");
    expect(ps).not.toMatch(/^\s*Z/m);
  }, 90_000);

  test("files: written into the volume, ../ and a symlink out of /data refused (Anthropic format)", async () => {
    const results = await toolTurn(
      "files-e2e",
      [
        { name: "write_file", input: { path: "docs/plan.md", content: "# plan\nship it" } },
        { name: "shell", input: { command: "ln -s /etc /data/etc-link && cat docs/plan.md" } },
        { name: "read_file", input: { path: "etc-link/passwd" } },
        { name: "read_file", input: { path: "../etc/passwd" } },
        { name: "list_files", input: {} },
      ],
      "anthropic",
    );
    expect(results.map((r) => r.status)).toEqual(["ok", "ok", "error", "error", "ok"]);
    expect(String(results[1]?.output)).toContain("ship it");
    expect(String(results[2]?.output)).toContain("symbolic link out of the data directory");
    expect(String(results[3]?.output)).toContain("outside the data directory");
    expect(String(results[2]?.output) + String(results[3]?.output)).not.toContain("root:");
    expect(String(results[4]?.output)).toContain("docs/\tdirectory");
    expect(docker(["exec", CONTAINER, "cat", "/data/docs/plan.md"]).out).toBe("# plan\nship it");
  }, 90_000);

  test("http_fetch reaches the stand-in public server and refuses metadata and private addresses", async () => {
    const results = await toolTurn("fetch-e2e", [
      { name: "http_fetch", input: { url: `http://${netns.address}/_fake/requests` } },
      { name: "http_fetch", input: { url: "http://169.254.169.254/latest/meta-data/" } },
      { name: "http_fetch", input: { url: "http://172.17.0.1:7443/v1/health" } },
    ]);
    expect(results.map((r) => r.status)).toEqual(["ok", "error", "error"]);
    expect(String(results[0]?.output)).toContain("HTTP 200 application/json");
    expect(String(results[0]?.output)).toContain("fetch-e2e");
    expect(String(results[1]?.output)).toContain("not a public address");
  }, 90_000);

  test("a schedule fires in the container and survives a restart", async () => {
    const soon = new Date(Date.now() + 3_000).toISOString();
    const later = new Date(Date.now() + 3_600_000).toISOString();
    await scriptWith([
      {
        match: "sched-e2e",
        times: 1,
        reply: {
          kind: "tool_calls",
          calls: [
            { name: "schedule_create", input: { prompt: "e2e-fire: say ding", at: soon } },
            { name: "schedule_create", input: { prompt: "e2e-later", at: later } },
          ],
        },
      },
      { match: "sched-e2e", times: 1, reply: { kind: "text", chunks: ["Set."] } },
      { match: "e2e-fire", reply: { kind: "text", chunks: ["ding"] } },
    ]);
    const outcome = await client.chat({ text: "sched-e2e" }, 60_000);
    expect(outcome.error).toBeNull();
    const fired = await client.next((f) => f.type === "schedule.fired", 15_000);
    expect(fired).toMatchObject({ ok: true, text: "ding" });
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(soon));

    client.close();
    docker(["restart", "-t", "5", CONTAINER]);
    await connect();
    const listed = await client.request({ type: "schedule.list" });
    const schedules = listed.schedules as {
      prompt: string;
      next_run_at: number | null;
      last_status: string | null;
    }[];
    expect(schedules.find((s) => s.prompt === "e2e-later")?.next_run_at).toBe(Date.parse(later));
    expect(schedules.find((s) => s.prompt === "e2e-fire: say ding")).toMatchObject({
      next_run_at: null,
      last_status: "ok",
    });
    expect(listed.next_wake_at).toBe(Date.parse(later));
  }, 90_000);
});
