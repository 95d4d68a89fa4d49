import { expect, test } from "bun:test";
import type { SessionState } from "../../src/db/schema.ts";
import { type SessionEvent, transition } from "../../src/sessions/state_machine.ts";

const ALL: SessionState[] = ["none", "spawning", "running", "frozen", "failed"];
const at = (state: SessionState, generation = 3) => ({ state, generation });

test("spawn starts from none or failed with a new generation, and is idempotent otherwise", () => {
  for (const state of ["none", "failed"] as const) {
    expect(transition(at(state), { type: "spawn" })).toEqual({
      kind: "patch",
      patch: { state: "spawning", progress: "scheduled", failureReason: null, generation: 4 },
    });
  }
  for (const state of ["spawning", "running", "frozen"] as const) {
    expect(transition(at(state), { type: "spawn" })).toEqual({ kind: "already" });
  }
});

test("freeze and restore only between running and frozen, with a message naming the state", () => {
  expect(transition(at("running"), { type: "freeze" })).toEqual({
    kind: "patch",
    patch: { state: "frozen" },
  });
  expect(transition(at("frozen"), { type: "freeze" }).kind).toBe("already");
  expect(transition(at("spawning"), { type: "freeze" })).toEqual({
    kind: "refuse",
    message: "A spawning container cannot be frozen.",
  });
  expect(transition(at("none"), { type: "freeze" })).toEqual({
    kind: "refuse",
    message: "A missing container cannot be frozen.",
  });
  expect(transition(at("frozen"), { type: "restore" })).toEqual({
    kind: "patch",
    patch: { state: "running" },
  });
  expect(transition(at("running"), { type: "restore" }).kind).toBe("already");
  expect(transition(at("failed"), { type: "restore" }).kind).toBe("refuse");
});

test("kill works from every state, clears the container and moves the generation on", () => {
  for (const state of ["spawning", "running", "frozen", "failed"] as const) {
    expect(transition(at(state), { type: "kill" })).toEqual({
      kind: "patch",
      patch: {
        state: "none",
        progress: null,
        failureReason: null,
        nodeId: null,
        dockerId: null,
        generation: 4,
      },
    });
  }
  expect(transition(at("none"), { type: "kill" })).toEqual({ kind: "already" });
});

test("spawn progress and readiness apply only while spawning", () => {
  expect(transition(at("spawning"), { type: "progress", step: "creating", nodeId: "n1" })).toEqual({
    kind: "patch",
    patch: { progress: "creating", nodeId: "n1" },
  });
  expect(transition(at("spawning"), { type: "progress", step: "starting" })).toEqual({
    kind: "patch",
    patch: { progress: "starting" },
  });
  expect(transition(at("spawning"), { type: "ready", nodeId: "n1", dockerId: "d" })).toEqual({
    kind: "patch",
    patch: { state: "running", progress: "ready", nodeId: "n1", dockerId: "d" },
  });
  for (const state of ["none", "running", "frozen", "failed"] as const) {
    expect(transition(at(state), { type: "ready", nodeId: "n1", dockerId: "d" }).kind).toBe("refuse");
    expect(transition(at(state), { type: "progress", step: "starting" }).kind).toBe("refuse");
  }
});

test("every failure is written the same way: reason kept, progress cleared; never over none or failed", () => {
  const fail: SessionEvent = { type: "fail", reason: "lost" };
  for (const state of ["spawning", "running", "frozen"] as const) {
    expect(transition(at(state), fail)).toEqual({
      kind: "patch",
      patch: { state: "failed", progress: null, failureReason: "lost" },
    });
  }
  expect(transition(at("none"), fail).kind).toBe("already");
  expect(transition(at("failed"), fail).kind).toBe("already");
});

test("no event leaves a state outside the lifecycle", () => {
  const events: SessionEvent[] = [
    { type: "spawn" },
    { type: "freeze" },
    { type: "restore" },
    { type: "kill" },
    { type: "progress", step: "starting" },
    { type: "ready", nodeId: "n", dockerId: "d" },
    { type: "fail", reason: "r" },
  ];
  for (const state of ALL) {
    for (const event of events) {
      const next = transition(at(state), event);
      if (next.kind === "patch" && next.patch.state) expect(ALL).toContain(next.patch.state);
    }
  }
});
