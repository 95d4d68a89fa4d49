// A spawn's steps with their measured durations (src/sessions/spawn_steps.ts): streamed into the
// dashboard while the container starts, folded under "Started in …" once it runs, and beside the
// reason and the way out when it failed.
import { STEP_LABEL, type StepView, TIMED_STEPS } from "../../src/sessions/spawn_steps.ts";

/** "40 ms", "0.3 s", "12.4 s", "2 min 5 s": tenths while short, whole seconds once minutes count. */
export function formatDuration(ms: number): string {
  if (ms < 100) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

type Row = { step: string; label: string; outcome: StepView["outcome"] | "pending"; time: string };

function rows(steps: StepView[], now: number): Row[] {
  return TIMED_STEPS.map((step) => {
    const seen = steps.find((s) => s.step === step);
    if (!seen) return { step, label: STEP_LABEL[step], outcome: "pending", time: "" };
    const time =
      seen.duration_ms !== null
        ? formatDuration(seen.duration_ms)
        : `${formatDuration(Math.max(0, now - Date.parse(seen.started_at)))}…`;
    return { step, label: seen.label, outcome: seen.outcome, time };
  });
}

const OUTCOME_WORD: Record<Row["outcome"], string> = {
  done: "done",
  running: "in progress",
  failed: "failed",
  pending: "not started",
};

/** The four steps in order; a step the spawn skipped past (it was too quick to be seen) reads "done". */
export function SpawnSteps(props: { steps: StepView[]; now?: number }) {
  const seen = rows(props.steps, props.now ?? Date.now());
  // A step never seen but followed by one that was: it happened between two looks at the node.
  const lastSeen = seen.findLastIndex((r) => r.outcome !== "pending");
  const list = seen.map((r, i) =>
    r.outcome === "pending" && i < lastSeen ? { ...r, outcome: "done" as const } : r,
  );
  const done = list.filter((r) => r.outcome === "done").length;
  return (
    <>
      <progress max={list.length} value={done} aria-label="Start-up progress">
        {`${done} of ${list.length}`}
      </progress>
      <ol class="steps" aria-label="Start-up steps" id="spawn-steps">
        {list.map((r) => (
          <li
            class={r.outcome === "running" ? "current" : r.outcome === "pending" ? undefined : r.outcome}
            aria-current={r.outcome === "running" ? "step" : undefined}
            data-step={r.step}
            data-outcome={r.outcome}
          >
            <span safe>{r.label}</span>{" "}
            <span class="step-time" safe>
              {r.time}
            </span>
            <span class="visually-hidden" safe>{`(${OUTCOME_WORD[r.outcome]})`}</span>
          </li>
        ))}
      </ol>
    </>
  );
}

/** The whole start-up time, from the request to the assistant answering. */
export function totalDuration(steps: StepView[]): string | null {
  const first = steps[0];
  const last = steps.at(-1);
  if (!first || !last?.ended_at) return null;
  return formatDuration(Math.max(0, Date.parse(last.ended_at) - Date.parse(first.started_at)));
}

/**
 * A failure reason as the lifecycle words it ("What happened. What to do."), split in two so the
 * way out stands on its own line; a reason with no advice gets the general one.
 */
export function explainFailure(reason: string | null): { what: string; todo: string } {
  const text = (reason ?? "").trim() || "The node did not say why.";
  const split = text.match(/^(.+?[.!?])\s+(\S.*)$/s);
  const advice = split?.[2] ?? "";
  if (split?.[1] && /\b(try|spawn|ask|add|start|free)\b/i.test(advice))
    return { what: split[1], todo: advice };
  return {
    what: text,
    todo: "Try again. If it fails the same way, tell your administrator what it says above.",
  };
}
