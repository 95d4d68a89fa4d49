// The dashboard's token usage: today and this month, the plan's budget, per model, and a small bar
// chart of the last days drawn as inline SVG on the server (no script, readable without colour: every
// bar has a title and the table below says the same in numbers).
import type { TokenHistoryDay, TokenSummary } from "../../src/gateway/token_usage.ts";

const fmt = (n: number) => n.toLocaleString("en");

function Chart(props: { days: TokenHistoryDay[] }) {
  const width = 280;
  const height = 80;
  const max = Math.max(1, ...props.days.map((d) => d.input_tokens + d.output_tokens));
  const slot = width / Math.max(1, props.days.length);
  const bar = Math.max(2, slot - 3);
  return (
    <svg
      id="token-chart"
      class="token-chart"
      viewBox={`0 0 ${width} ${height + 14}`}
      role="img"
      aria-label={`Tokens per day, last ${props.days.length} days`}
    >
      {props.days.map((d, i) => {
        const total = d.input_tokens + d.output_tokens;
        const inH = Math.round((d.input_tokens / max) * height);
        const outH = Math.round((d.output_tokens / max) * height);
        const x = Math.round(i * slot);
        return (
          <g data-day={d.day} data-total={String(total)}>
            <title safe>{`${d.day}: ${fmt(d.input_tokens)} in, ${fmt(d.output_tokens)} out`}</title>
            <rect
              class="bar-in"
              x={String(x)}
              y={String(height - inH - outH)}
              width={String(bar)}
              height={String(inH)}
            />
            <rect
              class="bar-out"
              x={String(x)}
              y={String(height - outH)}
              width={String(bar)}
              height={String(outH)}
            />
          </g>
        );
      })}
      <line class="axis" x1="0" y1={String(height + 0.5)} x2={String(width)} y2={String(height + 0.5)} />
      <text x="0" y={String(height + 12)} safe>
        {props.days[0]?.day.slice(5) ?? ""}
      </text>
      <text x={String(width)} y={String(height + 12)} text-anchor="end" safe>
        today
      </text>
    </svg>
  );
}

export function TokenUsageCard(props: {
  tokens: TokenSummary & { monthly_budget: number | null; budget_remaining: number | null };
  history: TokenHistoryDay[];
}) {
  const { today, month, monthly_budget } = props.tokens;
  const monthTotal = month.input_tokens + month.output_tokens;
  return (
    <section class="card" id="token-usage" aria-labelledby="tokens-heading">
      <h2 id="tokens-heading">AI tokens</h2>
      <dl class="facts">
        <dt>Today</dt>
        <dd id="tokens-today" safe>{`${fmt(today.input_tokens)} in · ${fmt(today.output_tokens)} out`}</dd>
        <dt>This month</dt>
        <dd id="tokens-month" safe>{`${fmt(month.input_tokens)} in · ${fmt(month.output_tokens)} out`}</dd>
        <dt>Monthly budget</dt>
        <dd id="tokens-budget" safe>
          {monthly_budget === null
            ? "no limit on your plan"
            : `${fmt(monthTotal)} of ${fmt(monthly_budget)} used`}
        </dd>
      </dl>
      <Chart days={props.history} />
      <p class="small muted">
        <span class="swatch swatch-in" /> input <span class="swatch swatch-out" /> output · counted by the
        node as replies pass; what you write and read is never stored.
      </p>
      {month.by_model.length === 0 ? (
        <p class="muted">No AI requests yet this month.</p>
      ) : (
        <table class="table" id="tokens-by-model">
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Input</th>
              <th scope="col">Output</th>
              <th scope="col">Requests</th>
            </tr>
          </thead>
          <tbody>
            {month.by_model.map((m) => (
              <tr>
                <td safe>{`${m.provider} · ${m.model}`}</td>
                <td safe>{fmt(m.input_tokens)}</td>
                <td safe>{fmt(m.output_tokens)}</td>
                <td safe>{fmt(m.requests)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
