// The running container's live CPU, memory and processes, with a sparkline each. dashboard.js polls
// /dashboard/live every few seconds while the page is visible and draws the last few minutes; the
// server renders the frame (no inline style: the lines are SVG points set by the script).

function Metric(props: { id: string; label: string; limit: string }) {
  return (
    <div class="metric" id={`live-${props.id}`}>
      <dt>{props.label}</dt>
      <dd>
        <span class="metric-value" data-value>
          —
        </span>{" "}
        <span class="small muted" safe>
          {props.limit}
        </span>
        <svg class="spark" viewBox="0 0 120 28" preserveAspectRatio="none" aria-hidden="true">
          <polyline points="" />
        </svg>
      </dd>
    </div>
  );
}

export function LiveUsageCard(props: { cpuMillis: number; memoryMb: number; pidsLimit: number }) {
  return (
    <section class="card" id="live-usage" aria-labelledby="live-heading" data-poll="/dashboard/live">
      <h2 id="live-heading">
        Live usage{" "}
        <span class="live-badge" id="live-badge" data-live="waiting">
          waiting
        </span>
      </h2>
      <dl class="metrics">
        <Metric id="cpu" label="CPU" limit={`limit ${(props.cpuMillis / 1000).toLocaleString("en")} cores`} />
        <Metric id="memory" label="Memory" limit={`of ${props.memoryMb.toLocaleString("en")} MB`} />
        <Metric id="pids" label="Processes" limit={`of ${props.pidsLimit}`} />
      </dl>
      <p class="small muted" id="live-updated" aria-live="off">
        Live figures need JavaScript; they are read from your container's node every few seconds.
      </p>
    </section>
  );
}
