// Tool use against a runtime started in-process (./harness.ts), with the fake provider scripting tool
// calls in both wire formats (streamed, arguments in fragments): the shell, files, http_fetch, and the
// calls kept in history. Schedules, settings and /wake: schedules_settings.test.ts. The same tools in
// the real image under the agent's isolation: tools_image.test.ts.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ANTHROPIC_KEY,
  client,
  dataDir,
  fake,
  OPENAI_KEY,
  outside,
  PROVIDERS,
  scriptToolTurn,
  site,
  siteHits,
  TOKEN,
  toolFrames,
  toolResultsSent,
  useToolsRuntime,
} from "./harness.ts";

useToolsRuntime();

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
