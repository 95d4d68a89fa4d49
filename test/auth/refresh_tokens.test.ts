import { expect, test } from "bun:test";
import { deriveAuthKeys } from "../../src/auth/keys.ts";
import { createFamily, rotate, type SignInPolicy } from "../../src/auth/refresh_tokens.ts";
import { asSystem } from "../../src/db/rls.ts";
import { users } from "../../src/db/schema.ts";
import { describeEachDriver } from "../helpers/db.ts";

const keys = await deriveAuthKeys(new Uint8Array(32).fill(9));
const meta = { userAgent: "test", ip: "127.0.0.1" };

describeEachDriver("refresh-token lifetimes", (db) => {
  async function newUser() {
    const [row] = await asSystem(db().db, (tx) =>
      tx
        .insert(users)
        .values({ email: `${crypto.randomUUID()}@example.test`, passwordHash: "x" })
        .returning(),
    );
    return row?.id ?? "";
  }

  test("the idle timeout ends a family that was not used", async () => {
    const policy: SignInPolicy = { absoluteMs: 60_000, idleMs: 300, graceMs: 10_000 };
    const family = await createFamily(db().db, keys.refreshKey, policy, await newUser(), meta);
    await Bun.sleep(400);
    expect(await rotate(db().db, keys.refreshKey, policy, family.refreshToken)).toEqual({
      ok: false,
      reason: "expired",
    });
  });

  test("the absolute lifetime ends a family even while it is used", async () => {
    const policy: SignInPolicy = { absoluteMs: 600, idleMs: 60_000, graceMs: 10_000 };
    let token = (await createFamily(db().db, keys.refreshKey, policy, await newUser(), meta)).refreshToken;
    for (let i = 0; i < 3; i++) {
      const outcome = await rotate(db().db, keys.refreshKey, policy, token);
      expect(outcome.ok).toBe(true);
      if (outcome.ok) token = outcome.refreshToken;
      await Bun.sleep(100);
    }
    await Bun.sleep(400);
    expect(await rotate(db().db, keys.refreshKey, policy, token)).toEqual({ ok: false, reason: "expired" });
  });

  test("the previous token stops working once the grace period has passed", async () => {
    const policy: SignInPolicy = { absoluteMs: 60_000, idleMs: 60_000, graceMs: 200 };
    const first = await createFamily(db().db, keys.refreshKey, policy, await newUser(), meta);
    const second = await rotate(db().db, keys.refreshKey, policy, first.refreshToken);
    expect(second.ok).toBe(true);
    const withinGrace = await rotate(db().db, keys.refreshKey, policy, first.refreshToken);
    expect(withinGrace.ok && second.ok && withinGrace.refreshToken === second.refreshToken).toBe(true);
    await Bun.sleep(300);
    expect(await rotate(db().db, keys.refreshKey, policy, first.refreshToken)).toEqual({
      ok: false,
      reason: "reused",
    });
  });

  test("only a hash of the token is stored", async () => {
    const policy: SignInPolicy = { absoluteMs: 60_000, idleMs: 60_000, graceMs: 200 };
    const family = await createFamily(db().db, keys.refreshKey, policy, await newUser(), meta);
    const secretPart = family.refreshToken.split(".")[2] ?? "";
    const dump = JSON.stringify(
      await asSystem(db().db, (tx) => tx.execute("select * from auth_sessions" as never)),
    );
    expect(secretPart.length).toBe(43);
    expect(dump).not.toContain(secretPart);
    expect(dump).not.toContain(family.refreshToken);
  });
});
