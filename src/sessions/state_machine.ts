// The container lifecycle of DESIGN.md, and the only place a container's state changes are decided:
// none → spawning → running ⇄ frozen, kill → none, failed with a reason. `transition(row, event)`
// says what the row becomes (a patch), that nothing needs doing, or why the event is refused; the
// lifecycle and the reconciler only write what it returns (sessions_repo.ts `applyEvent`).
import type { SessionState } from "../db/schema.ts";
import type { SpawnStepRecord } from "./spawn_steps.ts";

export type SessionAction = "spawn" | "freeze" | "restore" | "kill";

export const SPAWN_STEPS = ["scheduled", "creating", "starting", "waiting for the gateway", "ready"] as const;
export type SpawnStep = (typeof SPAWN_STEPS)[number];

export type SessionEvent =
  /** What a user asked for. */
  | { type: SessionAction }
  /** The spawn job moved on (and, once scheduled, knows its node). */
  | { type: "progress"; step: Exclude<SpawnStep, "ready">; nodeId?: string; steps?: SpawnStepRecord[] }
  /** The container answers on its gateway. */
  | { type: "ready"; nodeId: string; dockerId: string; steps?: SpawnStepRecord[] }
  /** The spawn failed, timed out, or the container was lost on its node. */
  | { type: "fail"; reason: string; steps?: SpawnStepRecord[] };

export type SessionPatch = {
  state?: SessionState;
  progress?: string | null;
  failureReason?: string | null;
  nodeId?: string | null;
  dockerId?: string | null;
  generation?: number;
  /** The spawn's timeline (spawn_steps.ts), written with the step it records. */
  spawnSteps?: SpawnStepRecord[];
};

export type Transition =
  | { kind: "patch"; patch: SessionPatch }
  | { kind: "already" }
  | { kind: "refuse"; message: string };

type Row = { state: SessionState; generation: number };

const patch = (p: SessionPatch): Transition => ({ kind: "patch", patch: p });
const already: Transition = { kind: "already" };
/** An event's timeline, when it carries one, goes into the same write as the state it describes. */
const timeline = (event: { steps?: SpawnStepRecord[] }) => (event.steps ? { spawnSteps: event.steps } : {});

function refuse(state: SessionState, verb: string): Transition {
  return {
    kind: "refuse",
    message: `A ${state === "none" ? "missing" : state} container cannot be ${verb}.`,
  };
}

export function transition(row: Row, event: SessionEvent): Transition {
  switch (event.type) {
    case "spawn":
      if (row.state !== "none" && row.state !== "failed") return already;
      // A new generation: whatever an older spawn job still does can no longer write.
      return patch({
        state: "spawning",
        progress: "scheduled",
        failureReason: null,
        generation: row.generation + 1,
      });
    case "kill":
      if (row.state === "none") return already;
      return patch({
        state: "none",
        progress: null,
        failureReason: null,
        nodeId: null,
        dockerId: null,
        generation: row.generation + 1,
      });
    case "freeze":
      if (row.state === "frozen") return already;
      return row.state === "running" ? patch({ state: "frozen" }) : refuse(row.state, "frozen");
    case "restore":
      if (row.state === "running") return already;
      return row.state === "frozen" ? patch({ state: "running" }) : refuse(row.state, "restored");
    case "progress":
      if (row.state !== "spawning") return refuse(row.state, "started");
      return patch({
        progress: event.step,
        ...(event.nodeId ? { nodeId: event.nodeId } : {}),
        ...timeline(event),
      });
    case "ready":
      if (row.state !== "spawning") return refuse(row.state, "started");
      return patch({
        state: "running",
        progress: "ready",
        nodeId: event.nodeId,
        dockerId: event.dockerId,
        ...timeline(event),
      });
    case "fail":
      if (row.state === "none" || row.state === "failed") return already;
      return patch({ state: "failed", progress: null, failureReason: event.reason, ...timeline(event) });
  }
}
