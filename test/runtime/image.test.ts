// End to end through the real image: `npm run image:runtime`'s image in a real container started with
// the isolation flags the fleet agent uses, talking to the fake provider and the fake Telegram in a
// network namespace the test creates (test/helpers/netns.ts), reached like public servers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildRuntimeImage, RUNTIME_IMAGE } from "../../scripts/image_runtime.ts";
import type { FakeProvider } from "../fakes/provider.ts";
import type { FakeTelegram } from "../fakes/telegram.ts";
import { ISOLATION_FLAGS } from "../helpers/docker_flags.ts";
import {
  createNetns,
  type Netns,
  startFakeProviderInNetns,
  startFakeTelegramInNetns,
} from "../helpers/netns.ts";
import { waitForHttp } from "../helpers/process.ts";
import { GatewayClient } from "./gateway_client.ts";

const suffix = crypto.randomUUID().slice(0, 8);
const CONTAINER = `cf-runtime-e2e-${suffix}`;
const VOLUME = `cf-runtime-e2e-${suffix}`;
// Shapes the log redactor does not know, so only the runtime's own care keeps them out of the logs.
const KEYS = {
  openai: `oai-${crypto.randomUUID()}`,
  anthropic: `ant-${crypto.randomUUID()}`,
  gemini: `gem-${crypto.randomUUID()}`,
  openrouter: `orr-${crypto.randomUUID()}`,
};
const GATEWAY_TOKEN = `gw-${crypto.randomUUID()}`;
const BOT_TOKEN = `7001234567:AAE${crypto.randomUUID().replaceAll("-", "")}`;
const OWNER_CHAT = 31337;

let netns: Netns;
let provider: FakeProvider;
let telegram: FakeTelegram;
let baseUrl: string;
let client: GatewayClient;

function docker(args: string[], allowFailure = false): { code: number; out: string; err: string } {
  const proc = Bun.spawnSync(["docker", ...args], { stdout: "pipe", stderr: "pipe" });
  const result = { code: proc.exitCode ?? -1, out: proc.stdout.toString(), err: proc.stderr.toString() };
  if (result.code !== 0 && !allowFailure) throw new Error(`docker ${args[0]} failed: ${result.err.trim()}`);
  return result;
}

function runContainer(): void {
  const nsUrl = `http://${netns.address}`;
  const env = {
    OPENAI_API_KEY: KEYS.openai,
    ANTHROPIC_API_KEY: KEYS.anthropic,
    GEMINI_API_KEY: KEYS.gemini,
    OPENROUTER_API_KEY: KEYS.openrouter,
    CLAWFLEET_DEFAULT_PROVIDER: "openai",
    CLAWFLEET_OPENAI_BASE_URL: `${nsUrl}/v1`,
    CLAWFLEET_ANTHROPIC_BASE_URL: nsUrl,
    CLAWFLEET_GEMINI_BASE_URL: `${nsUrl}/gemini/v1beta/openai`,
    // Nothing listens on port 9 in the namespace: the kernel there refuses the connection.
    CLAWFLEET_OPENROUTER_BASE_URL: `${nsUrl}:9/api/v1`,
    CLAWFLEET_GATEWAY_TOKEN: GATEWAY_TOKEN,
    CLAWFLEET_TELEGRAM_API_BASE: telegram.url,
    CLAWFLEET_TELEGRAM_POLL_TIMEOUT: "1",
  };
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
    ...Object.entries(env).flatMap(([name, value]) => ["-e", `${name}=${value}`]),
    RUNTIME_IMAGE,
  ]);
}

/** The published port changes on every start, so it is looked up each time. */
async function connect(): Promise<void> {
  const port = docker(["port", CONTAINER, "8080/tcp"]).out.trim().split("\n")[0]?.split(":").at(-1);
  baseUrl = `http://127.0.0.1:${port}`;
  await waitForHttp(`${baseUrl}/healthz`, 20_000);
  client = await GatewayClient.connect(`ws://127.0.0.1:${port}/gateway`, GATEWAY_TOKEN);
  await client.next((f) => f.type === "hello");
}

async function waitForTelegram(status: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (true) {
    const state = await client.request({ type: "channel.get", channel: "telegram" });
    if (state.status === status) return;
    if (Date.now() > deadline) throw new Error(`telegram connector is ${state.status}: ${state.detail}`);
    await Bun.sleep(100);
  }
}

function logs(): string {
  const result = docker(["logs", CONTAINER]);
  return result.out + result.err;
}

beforeAll(async () => {
  await buildRuntimeImage();
  netns = await createNetns();
  provider = await startFakeProviderInNetns(netns);
  telegram = await startFakeTelegramInNetns(netns);
  await provider.acceptKeys(Object.values(KEYS));
  await telegram.addBot(BOT_TOKEN, "clawfleet_e2e_bot");
  runContainer();
  await connect();
}, 120_000);

afterAll(async () => {
  client?.close();
  docker(["rm", "-f", "-v", CONTAINER], true);
  docker(["volume", "rm", "-f", VOLUME], true);
  await netns?.stop();
});

describe("the image under the agent's isolation", () => {
  test("`npm run image:runtime` is quick when nothing changed: the content-hash label matches", () => {
    const started = Date.now();
    const proc = Bun.spawnSync([process.execPath, "scripts/image_runtime.ts"], {
      cwd: `${import.meta.dir}/../..`,
    });
    expect(proc.exitCode).toBe(0);
    expect(proc.stdout.toString()).toContain(`${RUNTIME_IMAGE} is up to date`);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 30_000);

  test("runs as uid 1000 with no capabilities, no new privileges and a read-only root, with a shell", () => {
    expect(docker(["image", "inspect", "--format", "{{.Config.User}}", RUNTIME_IMAGE]).out.trim()).toBe(
      "1000:1000",
    );
    const shell = docker([
      "exec",
      CONTAINER,
      "/bin/sh",
      "-c",
      "id -u; id -g; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; touch /probe 2>&1; touch /data/.probe && rm /data/.probe && echo data-writable; touch /tmp/p && echo tmp-writable; ls /etc/ssl/certs/ca-certificates.crt",
    ]).out;
    expect(shell).toContain("1000\n1000\n");
    expect(shell).toMatch(/CapEff:\s+0000000000000000/);
    expect(shell).toMatch(/NoNewPrivs:\s+1/);
    expect(shell).toContain("Read-only file system");
    expect(shell).toContain("data-writable");
    expect(shell).toContain("tmp-writable");
    expect(shell).toContain("/etc/ssl/certs/ca-certificates.crt");
  });

  test("/healthz is 200, and the gateway refuses a connection without the token", async () => {
    expect((await fetch(`${baseUrl}/healthz`)).status).toBe(200);
    const refused = await fetch(`${baseUrl}/gateway`, {
      headers: { upgrade: "websocket", connection: "Upgrade" },
    });
    expect(refused.status).toBe(401);
  });
});

describe("chat through the container to providers in the namespace", () => {
  test("OpenAI: deltas arrive in order and the key arrives as a bearer token", async () => {
    await provider.script([
      { match: "stream", reply: { kind: "text", chunks: ["Alpha ", "beta ", "gamma ", "delta"] } },
    ]);
    const outcome = await client.chat({ text: "please stream", conversation_id: "e2e-main" });
    expect(outcome.error).toBeNull();
    expect(outcome.deltas).toEqual(["Alpha ", "beta ", "gamma ", "delta"]);
    expect(outcome.frames.filter((f) => f.type === "chat.delta").map((f) => f.seq)).toEqual([0, 1, 2, 3]);
    expect(outcome.done?.text).toBe("Alpha beta gamma delta");
    const request = (await provider.requests()).at(-1);
    expect(request).toMatchObject({ api: "openai", path: "/v1/chat/completions" });
    expect(request?.headers.authorization).toBe(`Bearer ${KEYS.openai}`);
  });

  test("Anthropic: the key arrives in x-api-key with anthropic-version", async () => {
    const outcome = await client.chat({
      text: "hello claude",
      conversation_id: "e2e-main",
      provider: "anthropic",
    });
    expect(outcome.done).toMatchObject({ provider: "anthropic", text: "You said: hello claude" });
    const request = (await provider.requests()).at(-1);
    expect(request).toMatchObject({ api: "anthropic", path: "/v1/messages" });
    expect(request?.headers["x-api-key"]).toBe(KEYS.anthropic);
    expect(request?.headers["anthropic-version"]).toBe("2023-06-01");
  });

  test("Gemini goes through its OpenAI-compatible endpoint with its own key", async () => {
    const outcome = await client.chat({ text: "hello gemini", provider: "gemini" });
    expect(outcome.done).toMatchObject({ provider: "gemini", text: "You said: hello gemini" });
    const request = (await provider.requests()).at(-1);
    expect(request?.path).toBe("/gemini/v1beta/openai/chat/completions");
    expect(request?.headers.authorization).toBe(`Bearer ${KEYS.gemini}`);
  });

  test("provider errors reach the user as clear messages", async () => {
    await provider.script([
      { match: "e401", reply: { kind: "http_error", status: 401, message: "invalid api key" } },
      { match: "e429", reply: { kind: "http_error", status: 429, retryAfter: "7" } },
      { match: "e503", reply: { kind: "http_error", status: 503 } },
      { match: "bad-stream", reply: { kind: "malformed", chunks: ["x"] } },
      { match: "mid-stream", reply: { kind: "stream_error", chunks: ["half"], message: "Overloaded" } },
    ]);
    const error = async (text: string, provider = "openai") =>
      ((await client.chat({ text, provider })).error?.error ?? null) as Record<string, unknown> | null;

    expect(await error("e401")).toMatchObject({
      code: "auth",
      message: expect.stringContaining("OpenAI rejected the API key (HTTP 401)"),
    });
    expect(await error("e429")).toMatchObject({ code: "rate_limited", retry_after: 7 });
    expect(await error("e503", "anthropic")).toMatchObject({
      code: "provider_unavailable",
      message: expect.stringContaining("Anthropic is unavailable right now (HTTP 503)"),
    });
    expect(await error("bad-stream")).toMatchObject({ code: "malformed_stream" });
    expect(await error("mid-stream", "anthropic")).toMatchObject({
      code: "stream_error",
      message: expect.stringContaining("Overloaded"),
    });
    expect(await error("anyone there?", "openrouter")).toEqual({
      code: "unreachable",
      message: `Could not reach OpenRouter at ${netns.address}:9: connection refused.`,
    });
    await provider.script([]);
  }, 30_000);
});

describe("Telegram from inside the container", () => {
  test("a token set through the gateway starts polling, and the owner's message is answered", async () => {
    const set = await client.request({
      type: "channel.set",
      channel: "telegram",
      bot_token: BOT_TOKEN,
      allowed_chat_ids: [OWNER_CHAT],
    });
    expect(set).toMatchObject({ configured: true, enabled: true, bot_username: "clawfleet_e2e_bot" });
    await waitForTelegram("polling");
    await telegram.userSays(BOT_TOKEN, OWNER_CHAT, "hello from telegram");
    const [reply] = await telegram.waitForSent(BOT_TOKEN, 1, 10_000);
    expect(reply).toMatchObject({ chat_id: OWNER_CHAT, text: "You said: hello from telegram" });
  }, 30_000);

  test("the bot token is not in the data volume in the clear (checked with the image's own busybox)", () => {
    // busybox grep stops a line at a NUL byte, so the files are searched with NULs turned into newlines.
    const found = (needle: string) =>
      docker(
        [
          "run",
          "--rm",
          "--user",
          "1000:1000",
          "-v",
          `${VOLUME}:/data`,
          "--entrypoint",
          "/bin/sh",
          RUNTIME_IMAGE,
        ].concat(["-c", 'cat /data/* | tr "\\000" "\\n" | grep -q -F -e "$1"', "sh", needle]),
        true,
      ).code;
    expect(found("hello from telegram")).toBe(0);
    expect(found(BOT_TOKEN.split(":")[1] as string)).toBe(1);
  });
});

describe("persistence", () => {
  test("history, memory and the channel survive docker restart", async () => {
    await client.request({ type: "memory.set", content: "The user lives in Lisbon." });
    client.close();
    docker(["restart", "-t", "10", CONTAINER]);
    await connect();

    const history = await client.request({ type: "history.get", conversation_id: "e2e-main" });
    expect((history.messages as { content: string }[]).map((m) => m.content)).toEqual([
      "please stream",
      "Alpha beta gamma delta",
      "hello claude",
      "You said: hello claude",
    ]);
    expect((await client.request({ type: "memory.get" })).content).toBe("The user lives in Lisbon.");
    await client.chat({ text: "where do I live?" });
    const body = (await provider.requests()).at(-1)?.body as { messages?: { content: string }[] } | undefined;
    const system = body?.messages?.[0];
    expect(system?.content).toContain("The user lives in Lisbon.");

    await waitForTelegram("polling");
    await telegram.userSays(BOT_TOKEN, OWNER_CHAT, "still there?");
    const sent = await telegram.waitForSent(BOT_TOKEN, 2, 10_000);
    expect(sent.map((m) => m.text)).toEqual(["You said: hello from telegram", "You said: still there?"]);
  }, 60_000);

  test("stopping is prompt: the runtime handles SIGTERM as PID 1", () => {
    const started = Date.now();
    docker(["stop", "-t", "10", CONTAINER]);
    expect(Date.now() - started).toBeLessThan(5000);
    docker(["start", CONTAINER]);
  }, 30_000);

  test("docker logs record the work and hold no key, gateway token or bot token", async () => {
    await connect();
    const text = logs();
    expect(text).toContain("runtime started");
    expect(text).toContain("chat turn finished");
    for (const secret of [
      ...Object.values(KEYS),
      GATEWAY_TOKEN,
      BOT_TOKEN,
      BOT_TOKEN.split(":")[1] as string,
    ]) {
      expect(text).not.toContain(secret);
    }
  }, 30_000);

  test("removing the volume removes everything: a new container on a new volume starts empty", async () => {
    client.close();
    docker(["rm", "-f", CONTAINER]);
    docker(["volume", "rm", VOLUME]);
    runContainer();
    await connect();
    expect((await client.request({ type: "history.list" })).conversations).toEqual([]);
    expect((await client.request({ type: "memory.get" })).content).toBe("");
    expect(await client.request({ type: "channel.get", channel: "telegram" })).toMatchObject({
      configured: false,
    });
  }, 30_000);
});
