import { describe, expect, test } from "bun:test";
import { checkPassword, isCommonPassword, PASSWORD_MAX } from "../../src/auth/password_policy.ts";
import { ARGON2, hashPassword, needsRehash, verifyPassword } from "../../src/auth/passwords.ts";
import { QueueFullError, WorkQueue } from "../../src/auth/work_queue.ts";

// Unrelated words, no repeats: strong at any length (zxcvbn scores the first 64 characters).
const LONG = Array.from(
  { length: 40 },
  (_, i) => `${["amber", "quill", "dusk", "vortex", "lagoon"][i % 5]}${i * 7}`,
).join(" ");

describe("password rules (OWASP ASVS)", () => {
  test("at least 12 characters, counted in code points", () => {
    expect(checkPassword("elevenchars")?.code).toBe("password_too_short");
    expect(checkPassword("twelve chars")).toBeNull();
    expect(checkPassword("🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑")?.code).toBe("password_too_short");
  });

  test("64 characters and more are allowed, up to the maximum", () => {
    expect(checkPassword(LONG.slice(0, 64))).toBeNull();
    expect(checkPassword(LONG.slice(0, PASSWORD_MAX))).toBeNull();
    expect(checkPassword("ab".repeat(PASSWORD_MAX))?.code).toBe("password_too_long");
  });

  test("no composition rules", () => {
    expect(checkPassword("all lowercase words here")).toBeNull();
  });

  test("the 10,000 most common passwords are rejected, case-insensitively", () => {
    expect(isCommonPassword("password")).toBe(true);
    expect(isCommonPassword("QWERTY")).toBe(true);
    expect(checkPassword("123456QWERTY")?.code).toBe("password_common");
    expect(checkPassword("a@example.test", "a@example.test")?.code).toBe("password_common");
  });

  test("guessable passwords off the list are refused by zxcvbn's estimate, offline", () => {
    // Not on the 10,000-word list, yet a listed word plus a sequence.
    expect(isCommonPassword("password123456")).toBe(false);
    expect(checkPassword("password123456")?.code).toBe("password_weak");
    expect(checkPassword("password123456")?.message).toContain("similar to a commonly used password");
    expect(checkPassword("qwertyuiopasdfgh")?.code).toBe("password_weak");
    expect(checkPassword("p4ssw0rd123456")?.code).toBe("password_weak");
    expect(checkPassword("x".repeat(64))?.code).toBe("password_weak");
    // The account's own address with a year is a targeted guess; the same words elsewhere are not.
    expect(checkPassword("ana.lopez@example.test 2026", "ana.lopez@example.test")?.code).toBe(
      "password_weak",
    );
    expect(checkPassword("ana.lopez@example.test 2026")).toBeNull();
    expect(checkPassword("correct horse battery staple")).toBeNull();
  });
});

describe("argon2id hashing", () => {
  test("uses at least OWASP's parameters, stored in the PHC string", async () => {
    const hash = await hashPassword("a long enough password");
    expect(hash).toStartWith(`$argon2id$v=19$m=${ARGON2.memoryCost},t=${ARGON2.timeCost},p=1$`);
    expect(ARGON2.memoryCost).toBeGreaterThanOrEqual(19456);
    expect(ARGON2.timeCost).toBeGreaterThanOrEqual(2);
    expect(needsRehash(hash)).toBe(false);
    expect(await verifyPassword("a long enough password", hash)).toBe(true);
  });

  test("no truncation: a difference at the 200th character matters", async () => {
    const long = `${"k".repeat(199)}A`;
    const hash = await hashPassword(long);
    expect(await verifyPassword(`${"k".repeat(199)}B`, hash)).toBe(false);
    expect(await verifyPassword(long, hash)).toBe(true);
  });

  test("weaker parameters are recognised for rehashing", async () => {
    const old = await Bun.password.hash("x", { algorithm: "argon2id", memoryCost: 8192, timeCost: 1 });
    expect(needsRehash(old)).toBe(true);
    expect(needsRehash(await Bun.password.hash("x", "bcrypt"))).toBe(true);
  });
});

describe("bounded work queue", () => {
  test("never runs more than its concurrency and refuses past its queue", async () => {
    const queue = new WorkQueue(2, 3);
    let running = 0;
    let peak = 0;
    const job = async () => {
      running++;
      peak = Math.max(peak, running);
      await Bun.sleep(20);
      running--;
    };
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => queue.run(job)));
    expect(peak).toBe(2);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(5);
    const refused = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    expect(refused).toHaveLength(3);
    for (const r of refused) expect(r.reason).toBeInstanceOf(QueueFullError);
    expect(queue.load).toEqual({ running: 0, waiting: 0 });
  });
});
