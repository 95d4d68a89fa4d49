// The WebSocket client of bench/spawn_and_proxy.ts, run as its own process (like bench/lib/loadgen.ts)
// so it does not share an event loop with the server and agent it measures, as a browser would not:
//   bun bench/lib/ws_client.ts '<json job>'
// Job: {url, headers, mode: "ping", rtt, throughput} or {url, headers, mode: "bulk", frames, window};
// `ca`: a PEM certificate to trust as the only CA (the agent's own, pinned by the caller), for wss://.
// Prints one JSON line. Bounded by the job's counts and `deadlineMs`.
import { percentile } from "./report.ts";
import { measureBulk } from "./ws_bulk.ts";

type Job = {
  url: string;
  headers: Record<string, string>;
  mode: "ping" | "bulk";
  rtt?: number;
  throughput?: number;
  frames?: number;
  window?: number;
  ca?: string;
  deadlineMs: number;
};

const job = JSON.parse(process.argv[2] ?? "{}") as Job;
const deadline = Date.now() + job.deadlineMs;
// Host names are not checked with a pinned certificate (as the server's own client, agent/api/client.ts).
const tls = job.ca ? { ca: job.ca, checkServerIdentity: () => undefined } : undefined;
const open = () => new WebSocket(job.url, { headers: job.headers, tls } as never);

function guard() {
  if (Date.now() > deadline) throw new Error("WebSocket client exceeded its time bound");
}

async function pingPong() {
  const ws = open();
  let handler: (data: string) => void = () => {};
  ws.onmessage = (e) => handler(String(e.data));
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("socket failed to open"));
  });
  await new Promise<void>((resolve) => {
    handler = () => resolve();
  }); // the runtime's hello
  const rtts: number[] = [];
  for (let i = 0; i < (job.rtt ?? 0); i++) {
    guard();
    const start = performance.now();
    await new Promise<void>((resolve) => {
      handler = () => resolve();
      ws.send(JSON.stringify({ type: "ping", id: `r${i}` }));
    });
    rtts.push(performance.now() - start);
  }
  const count = job.throughput ?? 0;
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error("throughput phase exceeded its bound")),
      deadline - Date.now(),
    );
    let got = 0;
    handler = () => {
      if (++got === count) {
        clearTimeout(timer);
        resolve();
      }
    };
    for (let i = 0; i < count; i++) ws.send(JSON.stringify({ type: "ping", id: `t${i}` }));
  });
  const seconds = (performance.now() - start) / 1000;
  ws.close();
  return {
    rtts,
    count,
    seconds,
    p50: percentile(rtts, 50),
    p95: percentile(rtts, 95),
    perSecond: count / seconds,
  };
}

const result =
  job.mode === "bulk"
    ? { mibPerSecond: await measureBulk(open, job.frames ?? 0, job.window ?? 1, job.deadlineMs) }
    : await pingPong();
console.log(JSON.stringify(result));
process.exit(0);
