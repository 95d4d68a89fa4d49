// The client side of bench/provider_gateway.ts, run as its own process (as a container's SDK would be):
export {};

// reads one JSON job from argv, makes the requests, prints the timings as JSON.
type Target = { name: string; url: string; auth: string; ca?: string };
type Job = { targets: Target[]; rounds: number; streams: number; warmup: number };

const job = JSON.parse(process.argv[2] ?? "{}") as Job;

const body = (text: string) =>
  JSON.stringify({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: text }] });

async function call(target: Target, text: string) {
  const started = performance.now();
  const response = await fetch(target.url, {
    method: "POST",
    headers: { authorization: `Bearer ${target.auth}`, "content-type": "application/json" },
    body: body(text),
    ...(target.ca ? { tls: { ca: target.ca } } : {}),
  } as RequestInit);
  if (response.status !== 200 || !response.body) throw new Error(`${target.name}: ${response.status}`);
  const reader = response.body.getReader();
  let first = 0;
  let bytes = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!first) first = performance.now() - started;
    bytes += value.byteLength;
  }
  return { first, total: performance.now() - started, bytes };
}

const ttfb: Record<string, number[]> = {};
const rate: Record<string, number[]> = {};
for (const t of job.targets) {
  ttfb[t.name] = [];
  rate[t.name] = [];
}
for (let i = 0; i < job.warmup; i++) for (const t of job.targets) await call(t, "warm");
for (let i = 0; i < job.rounds; i++) {
  const order = i % 2 ? job.targets : [...job.targets].reverse();
  for (const t of order) ttfb[t.name]?.push((await call(t, "short")).first);
}
for (let i = 0; i < job.streams; i++) {
  const order = i % 2 ? job.targets : [...job.targets].reverse();
  for (const t of order) {
    const r = await call(t, "long");
    rate[t.name]?.push(r.bytes / 1024 / 1024 / (r.total / 1000));
  }
}
process.stdout.write(JSON.stringify({ ttfb, rate }));
