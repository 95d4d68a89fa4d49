import { afterEach, expect, setSystemTime, test } from "bun:test";
import { createLogger } from "../../common/log.ts";
import {
  RESTART_WINDOW_MS,
  rememberedRestarts,
  restartStopped,
} from "../../src/sessions/stopped_containers.ts";

afterEach(() => setSystemTime());

test("a restart older than the window is forgotten when the next one is remembered", async () => {
  const restored: string[] = [];
  const agent = { restore: async (id: string) => void restored.push(id) } as never;
  const lifecycle = { volumeFor: async () => ({ key: "k" }) } as never;
  const log = createLogger("error", {}, () => {});
  // A day ahead: restarts other tests of this process remembered are older than the window by then.
  const start = Date.now() + 86_400_000;
  const before = rememberedRestarts();

  setSystemTime(start);
  await restartStopped(null as never, lifecycle, agent, { id: "first" } as never, log, start);
  expect(rememberedRestarts()).toBe(before + 1);

  const later = start + RESTART_WINDOW_MS + 1;
  setSystemTime(later);
  await restartStopped(null as never, lifecycle, agent, { id: "second" } as never, log, later);
  expect(restored).toEqual(["first", "second"]);
  expect(rememberedRestarts()).toBe(1);
});
