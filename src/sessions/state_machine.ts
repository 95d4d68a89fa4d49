// The session lifecycle of DESIGN.md: none → spawning → running ⇄ frozen, kill → none, failed with a
// reason. Every user action is checked here first, so an impossible request is a clear 409.
import type { SessionState } from "../db/schema.ts";

export type SessionAction = "spawn" | "freeze" | "restore" | "kill";

export type Decision =
  | { kind: "start"; to: SessionState }
  | { kind: "already"; state: SessionState }
  | { kind: "refuse"; message: string };

export function decide(action: SessionAction, state: SessionState): Decision {
  switch (action) {
    case "spawn":
      if (state === "none" || state === "failed") return { kind: "start", to: "spawning" };
      return { kind: "already", state };
    case "freeze":
      if (state === "running") return { kind: "start", to: "frozen" };
      if (state === "frozen") return { kind: "already", state };
      return {
        kind: "refuse",
        message: `A ${state === "none" ? "missing" : state} container cannot be frozen.`,
      };
    case "restore":
      if (state === "frozen") return { kind: "start", to: "running" };
      if (state === "running") return { kind: "already", state };
      return {
        kind: "refuse",
        message: `A ${state === "none" ? "missing" : state} container cannot be restored.`,
      };
    case "kill":
      if (state === "none") return { kind: "already", state };
      return { kind: "start", to: "none" };
  }
}

export const SPAWN_STEPS = ["scheduled", "creating", "starting", "waiting for the gateway", "ready"] as const;
export type SpawnStep = (typeof SPAWN_STEPS)[number];
