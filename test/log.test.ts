import { describe, expect, test } from "bun:test";
import { createLogger, REDACTED } from "../common/log.ts";

function capture() {
  const lines: string[] = [];
  return { lines, log: createLogger("debug", { svc: "test" }, (line) => lines.push(line)) };
}

describe("logger", () => {
  test("writes one JSON object per line with level, msg and fields", () => {
    const { lines, log } = capture();
    log.info("hello", { count: 2 });
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0] ?? "");
    expect(record).toMatchObject({ level: "info", msg: "hello", svc: "test", count: 2 });
  });

  test("respects the level", () => {
    const lines: string[] = [];
    const log = createLogger("warn", {}, (line) => lines.push(line));
    log.info("quiet");
    log.warn("loud");
    expect(lines).toHaveLength(1);
  });

  test("never prints passwords, tokens, keys, Authorization or Cookie headers", () => {
    const { lines, log } = capture();
    const secrets = {
      password: "hunter2-correct-horse",
      refresh_token: "rt_abcdefghijklmnopqrstuvwxyz",
      apiKey: "sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAA",
    };
    log.info("request", {
      body: secrets,
      headers: new Headers({ authorization: "Bearer abc.def.ghi", cookie: "cf_access=xyz123", accept: "x" }),
      note: "user pasted sk-proj-ABCDEFGHIJKLMNOPQRSTUV in a message",
      url: "postgres://app:supersecretpw@db:5432/x",
      error: new Error("failed with key AIzaSyA1234567890abcdefghijklmn"),
    });
    const out = lines.join("\n");
    for (const leak of [
      ...Object.values(secrets),
      "abc.def.ghi",
      "xyz123",
      "sk-proj-ABCDEFGHIJKLMNOPQRSTUV",
      "supersecretpw",
      "AIzaSyA1234567890abcdefghijklmn",
    ]) {
      expect(out).not.toContain(leak);
    }
    expect(out).toContain(REDACTED);
    expect(JSON.parse(lines[0] ?? "").headers.accept).toBe("x");
  });
});
