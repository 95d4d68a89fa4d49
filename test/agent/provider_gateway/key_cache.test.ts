// Freshness of the in-memory key cache, on a controlled clock: how a deletion reaches a running
// container within the promised 5 s, why the hot path does not wait, and failing closed.
import { expect, test } from "bun:test";
import type { ProviderKeysResponse } from "../../../agent/api/contract.ts";
import { FRESH_MS, KeyCache, MAX_AGE_MS } from "../../../agent/provider_gateway/key_cache.ts";
import { type KeySource, ServerChannelError } from "../../../agent/provider_gateway/server_channel.ts";

function fakeSource() {
  const state = {
    keys: { openai: "sk-one" } as ProviderKeysResponse["keys"],
    calls: 0,
    down: false,
    gate: null as Promise<void> | null,
  };
  const source: KeySource = {
    async fetchKeys() {
      state.calls++;
      if (state.gate) await state.gate;
      if (state.down) throw new ServerChannelError(503, "down");
      return { keys: { ...state.keys }, budget: { monthlyTokens: null, usedThisMonth: 0 } };
    },
    async reportUsage() {},
  };
  return { state, source };
}

test("within FRESH no fetch; until MAX_AGE the old answer while one refresh runs; past it a wait", async () => {
  let now = 0;
  const { state, source } = fakeSource();
  const cache = new KeyCache(source, { freshMs: FRESH_MS, maxAgeMs: MAX_AGE_MS }, () => now);
  expect((await cache.get("s")).keys.openai).toBe("sk-one");
  now = FRESH_MS - 1;
  await cache.get("s");
  expect(state.calls).toBe(1);
  // The key is deleted on the server; the next reads past FRESH answer at once and refresh once.
  state.keys = {};
  let release = () => {};
  state.gate = new Promise((r) => {
    release = r;
  });
  now = FRESH_MS + 1;
  const stale = await Promise.all([cache.get("s"), cache.get("s"), cache.get("s")]);
  expect(stale.map((s) => s.keys.openai)).toEqual(["sk-one", "sk-one", "sk-one"]);
  expect(state.calls).toBe(2);
  release();
  state.gate = null;
  await Bun.sleep(1);
  expect((await cache.get("s")).keys.openai).toBeUndefined();
  // Past MAX_AGE nothing old is used: the read waits for the server.
  state.keys = { openai: "sk-two" };
  now += MAX_AGE_MS + 1;
  expect((await cache.get("s")).keys.openai).toBe("sk-two");
  expect(MAX_AGE_MS + 1000).toBeLessThanOrEqual(5000);
});

test("the server unreachable past MAX_AGE: the request fails instead of using an old key", async () => {
  let now = 0;
  const { state, source } = fakeSource();
  const cache = new KeyCache(source, { freshMs: FRESH_MS, maxAgeMs: MAX_AGE_MS }, () => now);
  await cache.get("s");
  state.down = true;
  now = FRESH_MS + 10;
  expect((await cache.get("s")).keys.openai).toBe("sk-one");
  now = MAX_AGE_MS + 10;
  await expect(cache.get("s")).rejects.toBeInstanceOf(ServerChannelError);
  state.down = false;
  expect((await cache.get("s")).keys.openai).toBe("sk-one");
});

test("usage since the last fetch counts against the budget at once", async () => {
  const { source } = fakeSource();
  const cache = new KeyCache(source);
  await cache.get("s");
  cache.addUsage("s", 40);
  cache.addUsage("s", 2);
  expect((await cache.get("s")).budget.usedThisMonth).toBe(42);
});
