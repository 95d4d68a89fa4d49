import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { contextTurns } from "../../../runtime/chat.ts";
import { SecretBox } from "../../../runtime/secret_box.ts";
import { Channels } from "../../../runtime/store/channels.ts";
import { History, type StoredMessage } from "../../../runtime/store/history.ts";
import { MAX_MEMORY_CHARS, Memory } from "../../../runtime/store/memory.ts";
import { openStore, STORE_FILE } from "../../../runtime/store/open.ts";
import { tempDir } from "../../helpers/process.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function dataDir(): string {
  const dir = tempDir("cf-runtime-store");
  dirs.push(dir);
  return dir;
}

describe("history", () => {
  test("keeps conversations and messages in order, and they survive closing and reopening the file", () => {
    const dir = dataDir();
    let db = openStore(dir);
    const history = new History(db);
    history.ensureConversation("c1", "gateway", "  What is   the weather\nlike today?  ");
    history.addMessage("c1", "user", "What is the weather like today?");
    history.addMessage("c1", "assistant", "Sunny.", { provider: "openai", model: "gpt-test" });
    history.ensureConversation("c2", "telegram", "second");
    history.addMessage("c2", "user", "second");
    db.close();

    db = openStore(dir);
    const reopened = new History(db);
    const list = reopened.listConversations();
    expect(list.map((c) => c.id)).toEqual(["c2", "c1"]);
    expect(list[1]).toMatchObject({
      title: "What is the weather like today?",
      channel: "gateway",
      message_count: 2,
    });
    expect(reopened.messages("c1").map((m) => [m.role, m.content, m.provider])).toEqual([
      ["user", "What is the weather like today?", null],
      ["assistant", "Sunny.", "openai"],
    ]);
    db.close();
  });

  test("pages backwards through long conversations and deletes a conversation with its messages", () => {
    const db = openStore(dataDir());
    const history = new History(db);
    history.ensureConversation("long", "gateway", "m0");
    for (let i = 0; i < 10; i++) history.addMessage("long", i % 2 ? "assistant" : "user", `m${i}`);
    const last3 = history.messages("long", 3);
    expect(last3.map((m) => m.content)).toEqual(["m7", "m8", "m9"]);
    expect(history.messages("long", 3, last3[0]?.id).map((m) => m.content)).toEqual(["m4", "m5", "m6"]);
    expect(history.deleteConversation("long")).toBe(true);
    expect(history.deleteConversation("long")).toBe(false);
    expect(db.query("SELECT count(*) AS n FROM messages").get()).toEqual({ n: 0 });
    db.close();
  });

  test("the database file is private to the runtime's user", () => {
    const dir = dataDir();
    openStore(dir).close();
    expect(statSync(join(dir, STORE_FILE)).mode & 0o777).toBe(0o600);
  });

  test("a file from a newer runtime is refused rather than changed", () => {
    const dir = dataDir();
    const db = openStore(dir);
    db.run("PRAGMA user_version = 99");
    db.close();
    expect(() => openStore(dir)).toThrow("written by a newer runtime");
  });
});

describe("memory", () => {
  test("is one document, replaced on set, empty until first set, and size-limited", () => {
    const db = openStore(dataDir());
    const memory = new Memory(db);
    expect(memory.get()).toEqual({ content: "", updated_at: null });
    memory.set("likes tea");
    expect(memory.set("likes coffee").content).toBe("likes coffee");
    expect(memory.get().content).toBe("likes coffee");
    expect(() => memory.set("x".repeat(MAX_MEMORY_CHARS + 1))).toThrow(RangeError);
    db.close();
  });
});

describe("channels and sealed secrets", () => {
  test("the credential is stored sealed: the file never contains it, and only the right key opens it", async () => {
    const dir = dataDir();
    const db = openStore(dir);
    const channels = new Channels(db);
    const token = `123456789:${"A".repeat(10)}${crypto.randomUUID().replaceAll("-", "")}`;
    const box = await SecretBox.fromSecret("gateway-token-0123456789abcdef");
    channels.put("telegram", { enabled: true, allowed_chat_ids: [42] }, await box.seal(token, "telegram"));
    channels.updateState("telegram", { offset: 100 });
    // New settings without a new secret keep the sealed one and the state.
    channels.put("telegram", { enabled: false, allowed_chat_ids: [42] }, undefined);
    const record = channels.get("telegram");
    expect(record?.settings).toEqual({ enabled: false, allowed_chat_ids: [42] });
    expect(record?.state).toEqual({ offset: 100 });
    expect(await box.open(record?.sealedSecret as string, "telegram")).toBe(token);

    const other = await SecretBox.fromSecret("another-token-0123456789abcdef");
    await expect(other.open(record?.sealedSecret as string, "telegram")).rejects.toThrow(
      "sealed with another key",
    );
    await expect(box.open(record?.sealedSecret as string, "slack")).rejects.toThrow(
      "sealed with another key",
    );

    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    db.close();
    const bytes = readFileSync(join(dir, STORE_FILE)).toString("latin1");
    expect(bytes).toContain("allowed_chat_ids");
    expect(bytes).not.toContain(token);
    expect(bytes).not.toContain(token.split(":")[1]);
  });
});

describe("context sent to the provider", () => {
  const message = (id: number, role: "user" | "assistant", content: string): StoredMessage => ({
    id,
    conversation_id: "c",
    role,
    content,
    provider: null,
    model: null,
    created_at: 0,
  });

  test("merges turns of one role (a failed reply leaves two user turns) and starts with the user", () => {
    expect(
      contextTurns([
        message(1, "assistant", "left over"),
        message(2, "user", "first try"),
        message(3, "user", "second try"),
        message(4, "assistant", "answer"),
        message(5, "assistant", ""),
      ]),
    ).toEqual([
      { role: "user", content: "first try\n\nsecond try" },
      { role: "assistant", content: "answer" },
    ]);
  });

  test("keeps the newest messages within the character budget", () => {
    const big = "x".repeat(70_000);
    const turns = contextTurns([
      message(1, "user", big),
      message(2, "assistant", big),
      message(3, "user", "latest"),
    ]);
    expect(turns).toEqual([{ role: "user", content: "latest" }]);
  });
});
