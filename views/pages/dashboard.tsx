// The dashboard: the container's state, live spawn progress (streamed over server-sent events while
// spawning, see dashboard_progress.ts) and the actions the state allows. Killing asks first, in words,
// that the data will be gone.
import type { sessionView } from "../../src/http/session.ts";
import { Alert, CsrfField, ErrorSlot, Time } from "../components/forms.tsx";
import { LiveUsageCard } from "../components/live_usage.tsx";
import { explainFailure, SpawnSteps, totalDuration } from "../components/spawn_progress.tsx";
import { TokenUsageCard } from "../components/token_usage.tsx";
import { type ConsoleUser, Layout } from "../layout.tsx";

export type ContainerView = Awaited<ReturnType<typeof sessionView>>;

const STATE_LABEL: Record<string, string> = {
  none: "No container",
  spawning: "Starting",
  running: "Running",
  frozen: "Frozen",
  failed: "Failed",
};

/** How the console names the templates it knows; any other enabled template shows its own name. */
const TEMPLATE_LABEL: Record<string, string> = {
  "clawfleet-runtime": "Clawfleet assistant (small, fast)",
  openclaw: "OpenClaw (its own Control UI; needs 2 GB of memory)",
};

function ActionButton(props: {
  action: "spawn" | "freeze" | "restore" | "upgrade";
  label: string;
  csrf: string;
  secondary?: boolean;
  /** Spawn only: the templates the user may pick (a choice is shown when there is more than one). */
  templates?: string[];
}) {
  const choices = props.templates ?? [];
  return (
    <form
      method="post"
      action={`/dashboard/${props.action}`}
      hx-post={`/dashboard/${props.action}`}
      hx-target="#container-card"
      hx-swap="outerHTML"
      class={choices.length > 1 ? "template-choice" : undefined}
    >
      <CsrfField token={props.csrf} />
      {choices.length > 1 ? (
        <label>
          Assistant{" "}
          <select name="template" id="template-select">
            {choices.map((name) => (
              <option value={name} safe>
                {TEMPLATE_LABEL[name] ?? name}
              </option>
            ))}
          </select>
        </label>
      ) : choices.length === 1 ? (
        <input type="hidden" name="template" value={choices[0]} />
      ) : (
        ""
      )}
      <button type="submit" id={`${props.action}-button`} class={props.secondary ? "secondary" : undefined}>
        {props.label}
      </button>
    </form>
  );
}

/** A button (it opens the confirmation, it goes nowhere): a GET form, so it works without JavaScript. */
function KillButton() {
  return (
    <form
      method="get"
      action="/dashboard/kill"
      hx-get="/dashboard/kill"
      hx-target="#container-card"
      hx-swap="outerHTML"
    >
      <button type="submit" class="danger" id="kill-button">
        Kill…
      </button>
    </form>
  );
}

/** Once running: how long the start took, its steps folded away. */
function StartedIn(props: { steps: ContainerView["steps"] }) {
  const total = totalDuration(props.steps);
  if (!total) return "";
  return (
    <details class="started-in" id="started-in">
      <summary safe>{`Started in ${total}`}</summary>
      <SpawnSteps steps={props.steps} />
    </details>
  );
}

/** What went wrong, at which step, and what to do about it. */
function FailureNotice(props: { reason: string | null; steps: ContainerView["steps"] }) {
  const { what, todo } = explainFailure(props.reason);
  const failed = props.steps.find((s) => s.outcome === "failed");
  return (
    <>
      <div class="alert alert-error" role="alert" id="failure-reason">
        <p>
          <strong>Your container could not be started</strong>
          <span safe>{failed ? ` (while ${failed.label.toLowerCase()})` : ""}</span>. <span safe>{what}</span>
        </p>
        <p id="failure-todo">
          <strong>What to do:</strong> <span safe>{todo}</span>
        </p>
      </div>
      {props.steps.length ? <SpawnSteps steps={props.steps} /> : ""}
    </>
  );
}

export function ContainerCard(props: {
  view: ContainerView;
  csrf: string;
  hasKeys: boolean;
  confirmKill?: boolean;
  notice?: string | null;
  /** The templates the user may pick at spawn. */
  templates?: string[];
  /** The template's image is newer than the one the container runs. */
  upgradeAvailable?: boolean;
  /** Sent at the end of the progress stream: htmx puts it in place of the card being streamed into. */
  outOfBand?: boolean;
}) {
  const { view, csrf } = props;
  const state = view.state;
  // While spawning, the steps stream in over server-sent events; the stream's last message is the
  // card of the state it ended in, which has no stream (the kill confirmation has none either).
  const streaming = state === "spawning" && !props.confirmKill;
  return (
    <section
      id="container-card"
      class="card"
      aria-labelledby="container-heading"
      hx-swap-oob={props.outOfBand ? "outerHTML" : undefined}
      data-state={state}
    >
      <h2 id="container-heading">
        Your container{" "}
        <span class={`state state-${state}`} id="container-state" safe>
          {STATE_LABEL[state] ?? state}
        </span>
      </h2>
      <div data-error-slot class="form-error" role="alert" aria-live="assertive"></div>
      {props.notice ? <Alert kind="success" message={props.notice} /> : ""}

      {state === "none" ? (
        <>
          <p>You have no container yet. Start one to chat with your own private assistant.</p>
          {props.hasKeys ? (
            ""
          ) : (
            <div class="alert alert-warn" role="status">
              Your assistant needs an AI provider key to answer. <a href="/keys">Add a key</a> (now or later:
              keys reach a running container within seconds, and never enter it).
            </div>
          )}
          <div class="actions">
            <ActionButton action="spawn" label="Start my container" csrf={csrf} templates={props.templates} />
          </div>
        </>
      ) : (
        ""
      )}

      {state === "spawning" ? (
        <>
          <p>Your container is starting. This usually takes a few seconds.</p>
          <div id="spawn-progress" hx-sse:connect={streaming ? "/dashboard/progress" : undefined}>
            <SpawnSteps steps={view.steps} />
          </div>
          <noscript>
            <p class="small">
              This page reloads itself every few seconds until your container is ready.{" "}
              <a href="/dashboard">Reload now</a>
            </p>
          </noscript>
        </>
      ) : (
        ""
      )}

      {state === "running" ? (
        <>
          <p>Your assistant is running. Talk to it in the chat, or open a terminal inside the container.</p>
          <StartedIn steps={view.steps} />
          <div class="actions">
            <a class="button" href="/chat">
              Open chat
            </a>
            <a class="button secondary" href="/terminal">
              Open terminal
            </a>
            <ActionButton action="freeze" label="Freeze" csrf={csrf} secondary />
            {props.confirmKill ? "" : <KillButton />}
          </div>
        </>
      ) : (
        ""
      )}

      {props.upgradeAvailable && (state === "running" || state === "frozen") && !props.confirmKill ? (
        <div class="alert alert-info" role="status" id="upgrade-offer">
          <p>
            A newer version of your assistant is available. Upgrading restarts it on the new version and keeps
            your conversations, memory, schedules and files.
          </p>
          <ActionButton action="upgrade" label="Upgrade now" csrf={csrf} secondary />
        </div>
      ) : (
        ""
      )}

      {state === "frozen" ? (
        <>
          <p>
            Your container is frozen: paused, with everything in it kept. Restore it to carry on where you
            left off.
          </p>
          <div class="actions">
            <ActionButton action="restore" label="Restore" csrf={csrf} />
            {props.confirmKill ? "" : <KillButton />}
          </div>
        </>
      ) : (
        ""
      )}

      {state === "failed" ? (
        <>
          <FailureNotice reason={view.failure_reason} steps={view.steps} />
          <div class="actions">
            <ActionButton action="spawn" label="Try again" csrf={csrf} templates={props.templates} />
            {props.confirmKill ? "" : <KillButton />}
          </div>
        </>
      ) : (
        ""
      )}

      {props.confirmKill && state !== "none" ? (
        <div class="confirm-box" role="alertdialog" aria-labelledby="kill-title" aria-describedby="kill-text">
          <h3 id="kill-title">Kill your container?</h3>
          <p id="kill-text">
            <strong>Everything inside it will be permanently deleted:</strong> your conversations, your
            assistant's memory, channel settings and any files. This cannot be undone. Your account and your
            saved keys stay.
          </p>
          <form
            method="post"
            action="/dashboard/kill"
            hx-post="/dashboard/kill"
            hx-target="#container-card"
            hx-swap="outerHTML"
          >
            <CsrfField token={csrf} />
            <div class="actions">
              <button type="submit" class="danger" id="confirm-kill-button">
                Yes, kill it and delete the data
              </button>
              <a
                class="button secondary"
                href="/dashboard"
                hx-get="/dashboard/container"
                hx-target="#container-card"
                hx-swap="outerHTML"
                id="cancel-kill-button"
                data-autofocus
              >
                Cancel
              </a>
            </div>
          </form>
        </div>
      ) : (
        ""
      )}

      {state !== "none" ? (
        <dl class="facts small">
          <dt>Node</dt>
          <dd safe>{view.node ?? "—"}</dd>
          <dt>Since</dt>
          <dd>
            <Time value={view.created_at} relative />
          </dd>
        </dl>
      ) : (
        ""
      )}
    </section>
  );
}

export function DashboardPage(props: {
  user: ConsoleUser;
  view: ContainerView;
  hasKeys: boolean;
  confirmKill?: boolean;
  templates?: string[];
  upgradeAvailable?: boolean;
  error?: string | null;
  tokens?: Parameters<typeof TokenUsageCard>[0]["tokens"];
  history?: Parameters<typeof TokenUsageCard>[0]["history"];
}) {
  const { plan } = props.view;
  const live = props.view.state === "running" || props.view.state === "frozen";
  // hx-sse.js always: a spawn started from this page streams its progress without a reload.
  return (
    <Layout
      title="Dashboard"
      user={props.user}
      active="dashboard"
      scripts={live ? ["hx-sse.js", "dashboard.js"] : ["hx-sse.js"]}
      reloadEvery={props.view.state === "spawning" ? 3 : undefined}
    >
      <h1>Dashboard</h1>
      {props.error ? <ErrorSlot message={props.error} /> : ""}
      <div class="grid">
        <ContainerCard
          view={props.view}
          csrf={props.user.csrf}
          hasKeys={props.hasKeys}
          confirmKill={props.confirmKill}
          templates={props.templates}
          upgradeAvailable={props.upgradeAvailable}
        />
        {live ? (
          <LiveUsageCard cpuMillis={plan.cpu_millis} memoryMb={plan.memory_mb} pidsLimit={plan.pids_limit} />
        ) : (
          ""
        )}
        <section class="card" aria-labelledby="plan-heading">
          <h2 id="plan-heading">
            Your plan: <span safe>{plan.name}</span>
          </h2>
          <dl class="facts">
            <dt>CPU</dt>
            <dd safe>{`${(plan.cpu_millis / 1000).toLocaleString("en")} cores`}</dd>
            <dt>Memory</dt>
            <dd safe>{`${plan.memory_mb.toLocaleString("en")} MB`}</dd>
            <dt>Disk</dt>
            <dd safe>{`${plan.disk_mb.toLocaleString("en")} MB`}</dd>
            <dt>Processes</dt>
            <dd safe>{String(plan.pids_limit)}</dd>
            <dt>API requests</dt>
            <dd safe>{`${plan.api_requests_per_minute} a minute`}</dd>
            <dt>Auto-freeze</dt>
            <dd safe>{`after ${plan.idle_freeze_minutes} idle minutes`}</dd>
          </dl>
        </section>
        {props.tokens && props.history ? (
          <TokenUsageCard tokens={props.tokens} history={props.history} />
        ) : (
          ""
        )}
      </div>
    </Layout>
  );
}
