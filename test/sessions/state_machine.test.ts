import { expect, test } from "bun:test";
import { decide } from "../../src/sessions/state_machine.ts";

test("spawn starts from none or failed and is idempotent otherwise", () => {
  expect(decide("spawn", "none")).toEqual({ kind: "start", to: "spawning" });
  expect(decide("spawn", "failed")).toEqual({ kind: "start", to: "spawning" });
  for (const state of ["spawning", "running", "frozen"] as const) {
    expect(decide("spawn", state)).toEqual({ kind: "already", state });
  }
});

test("freeze and restore only between running and frozen", () => {
  expect(decide("freeze", "running")).toEqual({ kind: "start", to: "frozen" });
  expect(decide("freeze", "frozen").kind).toBe("already");
  expect(decide("freeze", "spawning").kind).toBe("refuse");
  expect(decide("freeze", "none").kind).toBe("refuse");
  expect(decide("restore", "frozen")).toEqual({ kind: "start", to: "running" });
  expect(decide("restore", "running").kind).toBe("already");
  expect(decide("restore", "failed").kind).toBe("refuse");
});

test("kill works from every state and is idempotent", () => {
  for (const state of ["spawning", "running", "frozen", "failed"] as const) {
    expect(decide("kill", state)).toEqual({ kind: "start", to: "none" });
  }
  expect(decide("kill", "none")).toEqual({ kind: "already", state: "none" });
});
