// The idle freeze's exemption: only the container that reported a polling channel is spared, so a
// respawn (a new container, an empty volume) lapses it without anyone clearing it.
import { expect, test } from "bun:test";
import { keptAwakeByPolling } from "../../src/channels/polling_channels.ts";

test("a polling mark spares only the container that reported it", () => {
  expect(keptAwakeByPolling({ pollingContainerId: "abc", dockerId: "abc" })).toBe(true);
  expect(keptAwakeByPolling({ pollingContainerId: "abc", dockerId: "def" })).toBe(false);
  expect(keptAwakeByPolling({ pollingContainerId: null, dockerId: "abc" })).toBe(false);
  expect(keptAwakeByPolling({ pollingContainerId: null, dockerId: null })).toBe(false);
});
