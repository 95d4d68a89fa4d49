// The timeline of a spawn: each step with when it began and ended, kept on the session row
// (agent_sessions.spawn_steps) so every replica, the console's progress stream and the JSON API read
// the same figures. While a spawn runs, the node's steps are seen by polling it (a quarter second
// apart); when it answers, its own measured durations (agent/spawn_clock.ts) replace those guesses.
import type { SpawnStepTiming } from "../../agent/api/contract.ts";
import type { SpawnStep } from "./state_machine.ts";

export type TimedStep = Exclude<SpawnStep, "ready">;

/** One stored step. ISO 8601 times; `ended_at` is null while it runs (or when the spawn was cut off). */
export type SpawnStepRecord = { step: TimedStep; started_at: string; ended_at: string | null };

/** What the API and the console say for each step. */
export const STEP_LABEL: Record<TimedStep, string> = {
  scheduled: "Placing on a node",
  creating: "Creating encrypted storage and network",
  starting: "Starting the container",
  "waiting for the gateway": "Waiting for the assistant",
};

export const TIMED_STEPS = Object.keys(STEP_LABEL) as TimedStep[];

/** A fresh timeline: the spawn was asked for at `at`, so placing it begins then. */
export function beginSteps(at: Date): SpawnStepRecord[] {
  return [{ step: "scheduled", started_at: at.toISOString(), ended_at: null }];
}

/** Ends the running step and begins `step`; the same list when `step` already runs (a resumed spawn). */
export function enterStep(steps: SpawnStepRecord[], step: TimedStep, at: Date): SpawnStepRecord[] {
  const last = steps.at(-1);
  if (last?.step === step && last.ended_at === null) return steps;
  return [...endSteps(steps, at), { step, started_at: at.toISOString(), ended_at: null }];
}

/** Ends whatever step still runs (the spawn finished, or failed during it). */
export function endSteps(steps: SpawnStepRecord[], at: Date): SpawnStepRecord[] {
  return steps.map((s) => (s.ended_at === null ? { ...s, ended_at: at.toISOString() } : s));
}

/** The step the console shows for each status the node reports while it starts a container. */
export const NODE_STEP: Record<SpawnStepTiming["status"], TimedStep> = {
  creating: "creating",
  starting: "starting",
  waiting: "waiting for the gateway",
};

/** The step for a status a node reports about a container (none for a status that is not a step). */
export function nodeStepOf(status: string): TimedStep | undefined {
  return Object.hasOwn(NODE_STEP, status) ? NODE_STEP[status as keyof typeof NODE_STEP] : undefined;
}

/**
 * The timeline once the node answered: the steps from the node's first on are laid out again from
 * that step's start with the durations the node measured; the last ends at `at` (the answer), so the
 * total stays the time the user waited. Without the node's figures (an older agent), the polled ones stay.
 */
export function withNodeTimings(
  steps: SpawnStepRecord[],
  node: SpawnStepTiming[] | undefined,
  at: Date,
): SpawnStepRecord[] {
  const ended = endSteps(steps, at);
  const firstNodeStep = ended.findIndex((s) => s.step === "creating");
  const origin = ended[firstNodeStep];
  if (!node?.length || !origin) return ended;
  const end = at.getTime();
  let cursor = Date.parse(origin.started_at);
  const measured = node.map((timing, i) => {
    const started = Math.min(cursor, end);
    cursor = started + timing.ms;
    const finished = i === node.length - 1 ? end : Math.min(cursor, end);
    return {
      step: NODE_STEP[timing.status],
      started_at: new Date(started).toISOString(),
      ended_at: new Date(finished).toISOString(),
    };
  });
  return [...ended.slice(0, firstNodeStep), ...measured];
}

export type StepOutcome = "done" | "running" | "failed";

/** A step as the API answers it: its label, times, duration and outcome. */
export type StepView = {
  step: TimedStep;
  label: string;
  started_at: string;
  ended_at: string | null;
  /** Null while the step runs (the console counts it up from `started_at`). */
  duration_ms: number | null;
  outcome: StepOutcome;
};

/** The stored timeline read for a session in `state`: in a failed spawn the last step is the one that failed. */
export function presentSteps(steps: unknown, state: string): StepView[] {
  if (state !== "spawning" && state !== "running" && state !== "failed") return [];
  const list = readSteps(steps);
  return list.map((s, i) => {
    const last = i === list.length - 1;
    const duration = s.ended_at === null ? null : Date.parse(s.ended_at) - Date.parse(s.started_at);
    const outcome: StepOutcome =
      last && state === "failed" ? "failed" : s.ended_at === null ? "running" : "done";
    return {
      step: s.step,
      label: STEP_LABEL[s.step],
      started_at: s.started_at,
      ended_at: s.ended_at,
      duration_ms: duration === null ? null : Math.max(0, duration),
      outcome,
    };
  });
}

/** The stored JSON, keeping only well-formed steps (a row written by an older version has none). */
function readSteps(value: unknown): SpawnStepRecord[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (s): s is SpawnStepRecord =>
      typeof s === "object" &&
      s !== null &&
      Object.hasOwn(STEP_LABEL, s.step) &&
      typeof s.started_at === "string" &&
      Number.isFinite(Date.parse(s.started_at)) &&
      (s.ended_at === null || (typeof s.ended_at === "string" && Number.isFinite(Date.parse(s.ended_at)))),
  );
}
