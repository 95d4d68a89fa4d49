// GET /metrics: Prometheus text. Served to administrators (Bearer or console cookie) on the main
// port, or to anyone who can reach CLAWFLEET_METRICS_LISTEN (keep that on a private interface).
import { sql } from "drizzle-orm";
import type { AppContext } from "../context.ts";
import { rowsOf } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";
import type { ProxyMetrics } from "../proxy/session_ws.ts";
import { gauge, metrics } from "./metrics.ts";

export async function renderMetrics(ctx: AppContext, proxy: ProxyMetrics): Promise<string> {
  const [states, nodeStates] = await asSystem(ctx.database.db, async (tx) => [
    rowsOf<{ state: string; n: number }>(
      await tx.execute(sql`select state, count(*)::int as n from agent_sessions group by state`),
    ),
    rowsOf<{ state: string; n: number }>(
      await tx.execute(sql`select state, count(*)::int as n from nodes group by state`),
    ),
  ]);
  const sessionStates = ["none", "spawning", "running", "frozen", "failed"].map((state) => ({
    labels: { state },
    value: states.find((s) => s.state === state)?.n ?? 0,
  }));
  const nodeSamples = ["active", "draining", "unreachable"].map((state) => ({
    labels: { state },
    value: nodeStates.find((s) => s.state === state)?.n ?? 0,
  }));
  return `${[
    metrics.requests.render(),
    metrics.spawnSeconds.render(),
    gauge("clawfleet_sessions", "Agent sessions by state.", sessionStates),
    gauge("clawfleet_nodes", "Fleet nodes by state.", nodeSamples),
    gauge("clawfleet_proxy_connections_open", "Open proxied WebSocket connections.", [{ value: proxy.open }]),
    gauge("clawfleet_proxy_connections_total", "Proxied WebSocket connections since start.", [
      { value: proxy.total },
    ]),
    gauge("clawfleet_proxy_bytes", "Bytes relayed by closed proxy connections.", [
      { labels: { direction: "in" }, value: proxy.bytesIn },
      { labels: { direction: "out" }, value: proxy.bytesOut },
    ]),
  ].join("\n")}\n`;
}
