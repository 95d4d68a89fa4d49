// Schedules, the user's chat settings, GET /wake and secret scrubbing of tool output, against a
// runtime started in-process (./harness.ts) with the fake provider scripting the tool calls.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  client,
  dataDir,
  fake,
  logs,
  OPENAI_KEY,
  runtime,
  scriptToolTurn,
  TOKEN,
  toolFrames,
  useToolsRuntime,
} from "./harness.ts";

useToolsRuntime();

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
