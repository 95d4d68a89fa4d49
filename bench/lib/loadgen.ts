// A bounded HTTP load generator, run as its own process so it does not share the server's event loop:
//   bun bench/lib/loadgen.ts <url> <connections> <seconds> [method] [json-headers] [body-template]
// Prints one JSON line: {requests, perSecond, p50, p99, statuses}. `{i}` in the body or headers is
// replaced by the request number (distinct emails or forwarded addresses for a login flood).
import { percentile } from "./report.ts";

const [url = "", connectionsText = "8", secondsText = "5", method = "GET", headersText = "{}", bodyTemplate] =
  process.argv.slice(2);
const connections = Math.min(256, Number(connectionsText));
const seconds = Math.min(60, Number(secondsText));
const headersTemplate = JSON.parse(headersText) as Record<string, string>;
const end = Date.now() + seconds * 1000;
const latencies: number[] = [];
const statuses: Record<string, number> = {};
let counter = 0;

async function worker() {
  while (Date.now() < end) {
    const i = counter++;
    const headers = Object.fromEntries(
      Object.entries(headersTemplate).map(([k, v]) => [k, v.replaceAll("{i}", String(i))]),
    );
    const start = performance.now();
    const response = await fetch(url, {
      method,
      headers,
      body: bodyTemplate?.replaceAll("{i}", String(i)),
    }).catch(() => null);
    await response?.arrayBuffer().catch(() => {});
    latencies.push(performance.now() - start);
    const key = String(response?.status ?? 0);
    statuses[key] = (statuses[key] ?? 0) + 1;
  }
}

await Promise.all(Array.from({ length: connections }, worker));
console.log(
  JSON.stringify({
    requests: latencies.length,
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    statuses,
  }),
);
