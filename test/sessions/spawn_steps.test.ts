// The spawn timeline: steps entered and ended in order, the node's measured durations laid out from
// the first node step, and the API's view of a failed spawn.
import { expect, test } from "bun:test";
import {
  beginSteps,
  endSteps,
  enterStep,
  presentSteps,
  withNodeTimings,
} from "../../src/sessions/spawn_steps.ts";
import { explainFailure, formatDuration } from "../../views/components/spawn_progress.tsx";

const at = (ms: number) => new Date(Date.UTC(2026, 11, 2, 3, 0, 0) + ms);

test("entering a step ends the one before; entering the running one again changes nothing", () => {
  let steps = beginSteps(at(0));
  steps = enterStep(steps, "creating", at(120));
  expect(enterStep(steps, "creating", at(300))).toBe(steps);
  steps = enterStep(steps, "starting", at(400));
  expect(steps.map((s) => [s.step, s.ended_at])).toEqual([
    ["scheduled", at(120).toISOString()],
    ["creating", at(400).toISOString()],
    ["starting", null],
  ]);
  const view = presentSteps(steps, "spawning");
  expect(view.map((s) => [s.duration_ms, s.outcome])).toEqual([
    [120, "done"],
    [280, "done"],
    [null, "running"],
  ]);
});

test("the node's durations replace the polled ones, the last step ending at the answer", () => {
  // Polled: "starting" was never seen (shorter than a poll).
  let steps = enterStep(beginSteps(at(0)), "creating", at(100));
  steps = enterStep(steps, "waiting for the gateway", at(600));
  const timed = withNodeTimings(
    steps,
    [
      { status: "creating", ms: 300 },
      { status: "starting", ms: 80 },
      { status: "waiting", ms: 400 },
    ],
    at(950),
  );
  expect(presentSteps(timed, "running").map((s) => [s.step, s.duration_ms])).toEqual([
    ["scheduled", 100],
    ["creating", 300],
    ["starting", 80],
    ["waiting for the gateway", 470],
  ]);
  // An older agent sends none: the polled steps stay, ended at the answer.
  expect(withNodeTimings(steps, undefined, at(950))).toEqual(endSteps(steps, at(950)));
});

test("a failed spawn's last step is the failed one; other states and junk show no steps", () => {
  const steps = endSteps(enterStep(beginSteps(at(0)), "creating", at(50)), at(90));
  expect(presentSteps(steps, "failed").map((s) => s.outcome)).toEqual(["done", "failed"]);
  expect(presentSteps(steps, "none")).toEqual([]);
  expect(presentSteps(steps, "frozen")).toEqual([]);
  expect(presentSteps([{ step: "nope", started_at: "x" }, 3, null], "spawning")).toEqual([]);
  expect(presentSteps("not a list", "spawning")).toEqual([]);
});

test("durations and failure advice read as the console shows them", () => {
  expect([40, 340, 12_449, 125_000].map(formatDuration)).toEqual(["40 ms", "0.3 s", "12.4 s", "2 min 5 s"]);
  expect(explainFailure("The node has no disk left. Try again later, or ask your admin.")).toEqual({
    what: "The node has no disk left.",
    todo: "Try again later, or ask your admin.",
  });
  const bare = explainFailure("The container did not start: image v1.2 missing. It said no.");
  expect(bare.what).toBe("The container did not start: image v1.2 missing. It said no.");
  expect(bare.todo).toMatch(/^Try again/);
  expect(explainFailure(null).what).toBe("The node did not say why.");
});
