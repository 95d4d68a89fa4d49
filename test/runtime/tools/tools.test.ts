// Tool use against a runtime started in-process, with the fake provider scripting tool calls in both
// wire formats (streamed, arguments in fragments). The same tools in the real image under the agent's
// isolation: test/runtime/tools/tools_image.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Runtime, startRuntime } from "../../../runtime/app.ts";
import { loadRuntimeConfig } from "../../../runtime/config.ts";
import { type FakeReply, startFakeProvider } from "../../fakes/provider.ts";
import { freePort, tempDir } from "../../helpers/process.ts";
import { type Frame, GatewayClient } from "../gateway_client.ts";

const fake = startFakeProvider();
const OPENAI_KEY = `openai-test-key-${crypto.randomUUID()}`;
const ANTHROPIC_KEY = `anthropic-test-key-${crypto.randomUUID()}`;
const TOKEN = `gateway-token-${crypto.randomUUID()}`;
const dataDir = tempDir("cf-runtime-tools");
const outside = tempDir("cf-runtime-tools-outside");
const logs: string[] = [];
let runtime: Runtime;
let client: GatewayClient;
// A local web server standing in for a public site (opened with CLAWFLEET_FETCH_ALLOW).
let site: ReturnType<typeof Bun.serve>;
const siteHits: string[] = [];

beforeAll(async () => {
  site = Bun.serve({
    hostname: "127.0.0.2",
    port: 0,
    fetch(request) {
      const url = new URL(request.url);
      siteHits.push(url.pathname);
      if (url.pathname === "/big") return new Response("x".repeat(600 * 1024));
      if (url.pathname === "/hop") return Response.redirect("http://127.0.0.1:9/secret", 302);
      return new Response(`hello from ${url.pathname}`, { headers: { "content-type": "text/plain" } });
    },
  });
  const port = await freePort();
  runtime = await startRuntime(
    loadRuntimeConfig({
      HOST: "127.0.0.1",
      PORT: String(port),
      CLAWFLEET_DATA_DIR: dataDir,
      CLAWFLEET_GATEWAY_TOKEN: TOKEN,
      OPENAI_API_KEY: OPENAI_KEY,
      ANTHROPIC_API_KEY: ANTHROPIC_KEY,
      CLAWFLEET_DEFAULT_PROVIDER: "openai",
      CLAWFLEET_OPENAI_BASE_URL: fake.openaiBaseUrl,
      CLAWFLEET_ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
      CLAWFLEET_FETCH_ALLOW: "127.0.0.2/32",
    }),
    { logSink: (line) => logs.push(line) },
  );
  client = await GatewayClient.connect(`ws://127.0.0.1:${port}/gateway`, TOKEN);
  await client.next((f) => f.type === "hello");
});

afterAll(async () => {
  client?.close();
  await runtime?.stop();
  await fake.stop();
  site?.stop(true);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

beforeEach(async () => {
  await fake.script([]);
  await fake.clearRequests();
  await client.request({ type: "settings.set", shell_mode: "run" });
});

const PROVIDERS = ["openai", "anthropic"] as const;

/** One tool round then a closing text, matched by a marker in the user's message. */
async function scriptToolTurn(marker: string, calls: { name: string; input: Record<string, unknown> }[]) {
  const toolReply: FakeReply = { kind: "tool_calls", chunks: ["Let me look."], calls };
  await fake.script([
    { match: marker, times: 1, reply: toolReply },
    { match: marker, times: 1, reply: { kind: "text", chunks: ["All ", "done."] } },
  ]);
}

/** The tool results the runtime sent back in its second request, in either API's shape. */
async function toolResultsSent(): Promise<string[]> {
  const requests = await fake.requests();
  const second = requests[1]?.body as { messages: { role: string; content: unknown }[] } | undefined;
  if (!second) return [];
  const out: string[] = [];
  for (const message of second.messages) {
    if (message.role === "tool") out.push(String(message.content));
    if (message.role === "user" && Array.isArray(message.content)) {
      for (const block of message.content as { type: string; content: string }[]) {
        if (block.type === "tool_result") out.push(block.content);
      }
    }
  }
  return out;
}

function toolFrames(frames: Frame[], type: string): Frame[] {
  return frames.filter((f) => f.type === type);
}

describe.each(PROVIDERS)("tools over %s", (provider) => {
  test("the model's shell call runs, its result goes back, and the reply streams after it", async () => {
    await scriptToolTurn("run-echo", [{ name: "shell", input: { command: "echo tool-$((6*7)); pwd" } }]);
    const outcome = await client.chat({ text: `run-echo ${provider}`, provider });
    expect(outcome.error).toBeNull();
    const calls = toolFrames(outcome.frames, "chat.tool_call");
    expect(calls).toHaveLength(1);
    expect(calls[0]?.name).toBe("shell");
    expect(calls[0]?.input).toEqual({ command: "echo tool-$((6*7)); pwd" });
    const results = toolFrames(outcome.frames, "chat.tool_result");
    expect(results[0]?.status).toBe("ok");
    expect(String(results[0]?.output)).toContain("tool-42");
    expect(String(results[0]?.output)).toContain(dataDir);
    expect(outcome.deltas.join("")).toBe("Let me look.\n\nAll done.");
    expect(outcome.done?.text).toBe("Let me look.\n\nAll done.");
    const sent = await toolResultsSent();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toContain("tool-42");
    // The tools were offered in the API's own shape.
    const first = (await fake.requests())[0]?.body as { tools: Record<string, unknown>[] };
    const names = first.tools.map((t) =>
      provider === "openai" ? (t.function as { name: string }).name : (t.name as string),
    );
    expect(names).toEqual(
      expect.arrayContaining(["shell", "read_file", "write_file", "list_files", "http_fetch"]),
    );
    if (provider === "anthropic") expect(first.tools[0]).toHaveProperty("input_schema");
  });

  test("files: write, read back and list under the data path", async () => {
    await scriptToolTurn("files", [
      { name: "write_file", input: { path: `notes/${provider}.txt`, content: "remember the milk" } },
      { name: "read_file", input: { path: `notes/${provider}.txt` } },
      { name: "list_files", input: { path: "notes" } },
    ]);
    const outcome = await client.chat({ text: `files ${provider}`, provider });
    expect(outcome.error).toBeNull();
    const results = toolFrames(outcome.frames, "chat.tool_result");
    expect(results.map((r) => r.status)).toEqual(["ok", "ok", "ok"]);
    expect(readFileSync(join(dataDir, "notes", `${provider}.txt`), "utf8")).toBe("remember the milk");
    expect(results[1]?.output).toBe("remember the milk");
    expect(String(results[2]?.output)).toContain(`${provider}.txt\tfile\t17`);
    expect(await toolResultsSent()).toHaveLength(3);
  });
});

describe("the shell asks first when the user chose so", () => {
  test("approved: the command runs after the user says yes", async () => {
    await client.request({ type: "settings.set", shell_mode: "ask" });
    await scriptToolTurn("ask-yes", [{ name: "shell", input: { command: "touch approved.flag" } }]);
    client.send({ type: "chat", id: "ask1", text: "ask-yes" });
    const approval = await client.next((f) => f.type === "chat.tool_approval" && f.id === "ask1");
    expect(approval.name).toBe("shell");
    expect(existsSync(join(dataDir, "approved.flag"))).toBe(false);
    client.send({ type: "tool.approve", approval_id: approval.approval_id, approved: true });
    const result = await client.next((f) => f.type === "chat.tool_result" && f.id === "ask1");
    expect(result.status).toBe("ok");
    await client.next((f) => f.type === "chat.done" && f.id === "ask1");
    expect(existsSync(join(dataDir, "approved.flag"))).toBe(true);
  });

  test("declined: nothing runs and the model is told", async () => {
    await client.request({ type: "settings.set", shell_mode: "ask" });
    await scriptToolTurn("ask-no", [{ name: "shell", input: { command: "touch declined.flag" } }]);
    client.send({ type: "chat", id: "ask2", text: "ask-no", provider: "anthropic" });
    const approval = await client.next((f) => f.type === "chat.tool_approval" && f.id === "ask2");
    client.send({ type: "tool.approve", approval_id: approval.approval_id, approved: false });
    const result = await client.next((f) => f.type === "chat.tool_result" && f.id === "ask2");
    expect(result.status).toBe("denied");
    await client.next((f) => f.type === "chat.done" && f.id === "ask2");
    expect(existsSync(join(dataDir, "declined.flag"))).toBe(false);
    expect((await toolResultsSent())[0]).toContain("declined");
  });

  test("an unknown approval id and a bad mode are refused", async () => {
    const unknown = await client.request({ type: "tool.approve", approval_id: "a-nope", approved: true });
    expect(unknown.type).toBe("error");
    expect((unknown.error as { code: string }).code).toBe("not_found");
    const bad = await client.request({ type: "settings.set", shell_mode: "always" });
    expect((bad.error as { code: string }).code).toBe("bad_request");
    expect((await client.request({ type: "settings.get" })).shell_mode).toBe("run");
  });
});

describe("shell limits", () => {
  test("a command past its timeout is killed, with everything it started", async () => {
    await scriptToolTurn("slow", [
      {
        name: "shell",
        input: { command: "echo $$ > group.pid; (sleep 30; touch late.flag) & sleep 30", timeout_seconds: 1 },
      },
    ]);
    const started = Date.now();
    const outcome = await client.chat({ text: "slow" });
    expect(Date.now() - started).toBeLessThan(8_000);
    const result = toolFrames(outcome.frames, "chat.tool_result")[0];
    expect(result?.status).toBe("error");
    expect(String(result?.output)).toContain("timed out");
    // The shell led its own process group: nothing of that group is left, the background child included.
    const group = readFileSync(join(dataDir, "group.pid"), "utf8").trim();
    expect(group).toMatch(/^\d+$/);
    // Killed processes may linger as zombies until their new parent collects them (in the container
    // the runtime's reaper does: tools_image.test.ts); none may still be running.
    const alive = Bun.spawnSync(["ps", "-eo", "pgid=,stat="])
      .stdout.toString()
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter(([pgid, stat]) => pgid === group && !stat?.startsWith("Z"));
    expect(alive).toEqual([]);
  });

  test("output is capped at 64 KiB", async () => {
    await scriptToolTurn("loud", [{ name: "shell", input: { command: "yes 0123456789 | head -c 300000" } }]);
    const outcome = await client.chat({ text: "loud" });
    const output = String(toolFrames(outcome.frames, "chat.tool_result")[0]?.output);
    expect(output).toContain("[output cut at 64 KiB]");
    expect(output.length).toBeLessThan(66 * 1024);
  });

  test("the shell does not see the runtime's keys or gateway token", async () => {
    await scriptToolTurn("env", [{ name: "shell", input: { command: "env" } }]);
    const outcome = await client.chat({ text: "env" });
    const output = String(toolFrames(outcome.frames, "chat.tool_result")[0]?.output);
    expect(output).toContain("PATH=");
    for (const secret of [OPENAI_KEY, ANTHROPIC_KEY, TOKEN]) expect(output).not.toContain(secret);
  });
});

describe("files cannot leave the data path", () => {
  test("../, absolute paths, symlinks out and the runtime's store are refused", async () => {
    writeFileSync(join(outside, "secret.txt"), "outside secret");
    mkdirSync(join(dataDir, "links"), { recursive: true });
    symlinkSync(outside, join(dataDir, "links", "out"));
    symlinkSync(join(outside, "secret.txt"), join(dataDir, "links", "file-out"));
    symlinkSync(join(dataDir, "notes"), join(dataDir, "links", "in"));
    await scriptToolTurn("escape", [
      { name: "read_file", input: { path: "../../../../etc/passwd" } },
      { name: "read_file", input: { path: "links/out/secret.txt" } },
      { name: "read_file", input: { path: "links/file-out" } },
      { name: "write_file", input: { path: "links/out/planted.txt", content: "x" } },
      { name: "write_file", input: { path: "links/file-out", content: "overwritten" } },
      { name: "list_files", input: { path: "links/out" } },
      { name: "write_file", input: { path: "runtime.sqlite", content: "boom" } },
      { name: "read_file", input: { path: `${outside}/secret.txt` } },
      { name: "read_file", input: { path: "links/in/openai.txt" } },
    ]);
    const outcome = await client.chat({ text: "escape" });
    const results = toolFrames(outcome.frames, "chat.tool_result");
    expect(results.map((r) => r.status)).toEqual([
      "error",
      "error",
      "error",
      "error",
      "error",
      "error",
      "error",
      "error",
      "ok",
    ]);
    for (const result of results.slice(0, 8)) expect(String(result.output)).not.toContain("outside secret");
    expect(String(results[0]?.output)).toContain("outside the data directory");
    expect(String(results[1]?.output)).toContain("symbolic link");
    expect(results[8]?.output).toBe("remember the milk");
    expect(existsSync(join(outside, "planted.txt"))).toBe(false);
    expect(readFileSync(join(outside, "secret.txt"), "utf8")).toBe("outside secret");
    // The store is intact: history still answers.
    expect((await client.request({ type: "history.list" })).type).toBe("history.list");
  });
});

describe("http_fetch", () => {
  test("fetches an allowed site, caps the body, and refuses private, loopback and link-local targets", async () => {
    const base = `http://127.0.0.2:${site.port}`;
    siteHits.length = 0;
    await scriptToolTurn("fetch", [
      { name: "http_fetch", input: { url: `${base}/page` } },
      { name: "http_fetch", input: { url: `${base}/big` } },
      { name: "http_fetch", input: { url: `http://127.0.0.1:${site.port}/page` } },
      { name: "http_fetch", input: { url: "http://169.254.169.254/latest/meta-data/" } },
      { name: "http_fetch", input: { url: "http://[::1]/" } },
      { name: "http_fetch", input: { url: "http://10.1.2.3/" } },
      { name: "http_fetch", input: { url: `${base}/hop` } },
      { name: "http_fetch", input: { url: "file:///etc/passwd" } },
    ]);
    const outcome = await client.chat({ text: "fetch" });
    const results = toolFrames(outcome.frames, "chat.tool_result");
    expect(results.map((r) => r.status)).toEqual([
      "ok",
      "ok",
      "error",
      "error",
      "error",
      "error",
      "error",
      "error",
    ]);
    expect(String(results[0]?.output)).toContain("HTTP 200 text/plain");
    expect(String(results[0]?.output)).toContain("hello from /page");
    expect(String(results[1]?.output)).toContain("[body cut at 256 KiB]");
    expect(String(results[1]?.output).length).toBeLessThan(257 * 1024 + 200);
    for (const result of results.slice(2, 7)) expect(String(result.output)).toContain("not a public address");
    // The redirect to a private address was followed only as far as the check.
    expect(siteHits).toEqual(["/page", "/big", "/hop"]);
  });
});

describe("schedules", () => {
  test("a one-off schedule set by the model fires on time and its answer is announced", async () => {
    const at = new Date(Date.now() + 2_000).toISOString();
    await scriptToolTurn("remind", [
      { name: "schedule_create", input: { prompt: "fire-now: water the plants", at, name: "plants" } },
    ]);
    await fake.script([
      {
        match: "remind",
        times: 1,
        reply: {
          kind: "tool_calls",
          calls: [
            { name: "schedule_create", input: { prompt: "fire-now: water the plants", at, name: "plants" } },
          ],
        },
      },
      { match: "remind", times: 1, reply: { kind: "text", chunks: ["Scheduled."] } },
      { match: "fire-now", reply: { kind: "text", chunks: ["Time to water ", "the plants."] } },
    ]);
    const outcome = await client.chat({ text: "remind me" });
    expect(String(toolFrames(outcome.frames, "chat.tool_result")[0]?.output)).toContain("created s_");
    const listed = await client.request({ type: "schedule.list" });
    const schedule = (listed.schedules as { id: string; next_run_at: number }[]).find(
      (s) => s.next_run_at === Date.parse(at),
    );
    expect(schedule).toBeDefined();
    expect(listed.next_wake_at).toBe(Date.parse(at));
    const fired = await client.next((f) => f.type === "schedule.fired", 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(at));
    expect(fired.ok).toBe(true);
    expect(fired.text).toBe("Time to water the plants.");
    expect(fired.schedule_id).toBe(schedule?.id as string);
    const history = await client.request({
      type: "history.get",
      conversation_id: `schedule:${schedule?.id}`,
    });
    expect((history.messages as { content: string }[]).map((m) => m.content)).toEqual([
      "fire-now: water the plants",
      "Time to water the plants.",
    ]);
    const after = await client.request({ type: "schedule.list" });
    expect(
      (after.schedules as { id: string; next_run_at: number | null }[]).find((s) => s.id === schedule?.id)
        ?.next_run_at,
    ).toBeNull();
  });

  test("cron and bad input: a cron schedule gets its next minute, nonsense is refused to the model", async () => {
    await scriptToolTurn("cron", [
      { name: "schedule_create", input: { prompt: "daily digest", cron: "0 7 * * *" } },
      { name: "schedule_create", input: { prompt: "bad", cron: "61 * * * *" } },
      { name: "schedule_create", input: { prompt: "past", at: "2001-01-01T00:00:00Z" } },
      { name: "schedule_list", input: {} },
    ]);
    const outcome = await client.chat({ text: "cron" });
    const results = toolFrames(outcome.frames, "chat.tool_result");
    expect(results.map((r) => r.status)).toEqual(["ok", "error", "error", "ok"]);
    expect(String(results[3]?.output)).toContain('cron "0 7 * * *"');
    const listed = await client.request({ type: "schedule.list" });
    const daily = (listed.schedules as { id: string; cron: string; next_run_at: number }[]).find(
      (s) => s.cron === "0 7 * * *",
    );
    const next = new Date(daily?.next_run_at as number);
    expect([next.getUTCHours(), next.getUTCMinutes()]).toEqual([7, 0]);
    expect(daily?.next_run_at).toBeGreaterThan(Date.now());
    const deleted = await client.request({ type: "schedule.delete", schedule_id: daily?.id });
    expect(deleted.type).toBe("schedule.deleted");
  });
});

describe("history keeps the tool calls", () => {
  test("history.get returns the calls of each turn with their results", async () => {
    await scriptToolTurn("hist", [{ name: "shell", input: { command: "echo kept" } }]);
    const outcome = await client.chat({ text: "hist", conversation_id: "tools-history" });
    expect(outcome.error).toBeNull();
    const history = await client.request({ type: "history.get", conversation_id: "tools-history" });
    const calls = history.tool_calls as { name: string; output: string; status: string; input: unknown }[];
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ name: "shell", status: "ok", input: { command: "echo kept" } });
    expect(calls[0]?.output).toContain("kept");
  });
});

describe("the user's chat settings", () => {
  test("default provider, model and system prompt apply to chats that name none, and clear back", async () => {
    const set = await client.request({
      type: "settings.set",
      default_provider: "anthropic",
      default_model: "claude-tester-1",
      system_prompt: "You are Tester, terse.",
    });
    expect(set).toMatchObject({
      type: "settings",
      default_provider: "anthropic",
      default_model: "claude-tester-1",
      system_prompt: "You are Tester, terse.",
    });
    expect((await client.chat({ text: "who are you" })).error).toBeNull();
    const [request] = await fake.requests();
    expect(request?.api).toBe("anthropic");
    expect((request?.body as { model?: string } | undefined)?.model).toBe("claude-tester-1");
    expect((request?.body as { system?: string } | undefined)?.system ?? "").toStartWith(
      "You are Tester, terse.",
    );
    // A chat naming its provider uses that provider's own default model.
    await fake.clearRequests();
    await client.chat({ text: "and you?", provider: "openai" });
    expect(((await fake.requests())[0]?.body as { model?: string } | undefined)?.model).toBe("gpt-4o-mini");

    const bad = await client.request({ type: "settings.set", default_provider: "skynet" });
    expect((bad.error as { code: string }).code).toBe("bad_request");
    const long = await client.request({ type: "settings.set", system_prompt: "x".repeat(8001) });
    expect((long.error as { code: string }).code).toBe("bad_request");

    await client.request({
      type: "settings.set",
      default_provider: null,
      default_model: null,
      system_prompt: null,
    });
    await fake.clearRequests();
    await client.chat({ text: "back to normal" });
    const [plain] = await fake.requests();
    expect(plain?.api).toBe("openai");
    expect(JSON.stringify(plain?.body)).not.toContain("Tester");
  });
});

describe("GET /wake, for the fleet agent before a freeze", () => {
  const wake = (token = TOKEN) =>
    fetch(`${runtime.url}/wake`, { headers: { authorization: `Bearer ${token}` } });

  test("needs the gateway token, and reports the next schedule and running work", async () => {
    expect((await wake("wrong-token-000000000")).status).toBe(401);
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const created = await client.request({ type: "schedule.create", prompt: "wake me", at });
    expect(created.type).toBe("schedules");
    const idle = (await (await wake()).json()) as { next_wake_at: number; busy: boolean };
    expect(idle.busy).toBe(false);
    expect(idle.next_wake_at).toBeLessThanOrEqual(Date.parse(at));
    const bad = await client.request({ type: "schedule.create", prompt: "x", cron: "99 * * * *" });
    expect((bad.error as { code: string; message: string }).message).toContain("cron");

    await fake.script([
      { match: "slow answer", reply: { kind: "text", chunks: ["a", "b", "c"], delayMs: 400 } },
    ]);
    client.send({ type: "chat", id: "busy1", text: "slow answer" });
    await client.next((f) => f.type === "chat.delta" && f.id === "busy1");
    expect(((await (await wake()).json()) as { busy: boolean }).busy).toBe(true);
    await client.next((f) => f.type === "chat.done" && f.id === "busy1");
    await Bun.sleep(50);
    expect(((await (await wake()).json()) as { busy: boolean }).busy).toBe(false);
    const listed = await client.request({ type: "schedule.list" });
    for (const s of listed.schedules as { id: string }[]) {
      await client.request({ type: "schedule.delete", schedule_id: s.id });
    }
  });
});

describe("secrets in tool output", () => {
  test("a key that turns up in a file or a command's output never reaches the model, the client or the store", async () => {
    writeFileSync(join(dataDir, "leak.txt"), `key=${OPENAI_KEY}\ntoken=${TOKEN}\n`);
    await scriptToolTurn("leak", [
      { name: "read_file", input: { path: "leak.txt" } },
      { name: "shell", input: { command: "cat leak.txt" } },
    ]);
    const outcome = await client.chat({ text: "leak", conversation_id: "leak-test" });
    const results = toolFrames(outcome.frames, "chat.tool_result");
    expect(results.map((r) => r.status)).toEqual(["ok", "ok"]);
    for (const result of results) {
      expect(String(result.output)).toContain("key=[redacted]");
      expect(String(result.output)).toContain("token=[redacted]");
    }
    const sentToModel = JSON.stringify((await fake.requests())[1]?.body);
    expect(sentToModel).toContain("[redacted]");
    for (const secret of [OPENAI_KEY, TOKEN]) {
      expect(sentToModel).not.toContain(secret);
      expect(JSON.stringify(outcome.frames)).not.toContain(secret);
      expect(logs.join("\n")).not.toContain(secret);
    }
    // What the store keeps is the scrubbed text.
    const { Database } = await import("bun:sqlite");
    const db = new Database(join(dataDir, "runtime.sqlite"), { readonly: true });
    const stored = JSON.stringify(db.query("SELECT * FROM tool_calls").all());
    db.close();
    expect(stored).toContain("key=[redacted]");
    expect(stored).not.toContain(OPENAI_KEY);
  });
});
