// The provider gateway's cost beside a direct call to the same fake provider (HTTPS, a test CA):
// added latency to the first byte of a streamed reply, and throughput of a long stream.
// Command: `bun bench/provider_gateway.ts [rounds]`. The fake runs in its own process; the gateway
// runs in this one (as in the agent), the client in a third (bench/lib/stream_client.ts), bound to 127.0.0.1 and serving a stand-in "container" at
// 127.0.0.1 with a cached key, so what is measured is the gateway's own path: credential check, key
// injection, the request body's usage option, the upstream TLS connection and the metered stream.
// Direct and gateway requests alternate, so load on the shared machine hits both alike.
import { join } from "node:path";
import { ProviderGateway } from "../agent/provider_gateway/gateway.ts";
import type { KeySource } from "../agent/provider_gateway/server_channel.ts";
import { createLogger } from "../common/log.ts";
import { connectFakeProvider } from "../test/fakes/provider.ts";
import { freePort } from "../test/helpers/process.ts";
import { createTestCa } from "../test/helpers/test_ca.ts";
import { percentile, table, writeSection } from "./lib/report.ts";
import { startTcpRelay } from "./lib/tcp_relay.ts";

const rounds = Number(process.argv[2] ?? 300);
const KEY = "sk-proj-bench-0123456789abcdefghijklmnop";
const CREDENTIAL = `cfgw_${"b".repeat(64)}`;
const STREAM_CHUNKS = 5000;
const CHUNK = "x".repeat(4096);

const ca = createTestCa();
const proc = Bun.spawn(
  [
    process.execPath,
    join(import.meta.dir, "../test/fakes/provider.ts"),
    "--port",
    String(await freePort()),
    "--tls-cert",
    join(ca.dir, "server.pem"),
    "--tls-key",
    join(ca.dir, "server.key"),
  ],
  { stdin: "pipe", stdout: "pipe", stderr: "inherit" },
);
const reader = proc.stdout.getReader();
const { value } = await reader.read();
const url = /READY (\S+)/.exec(new TextDecoder().decode(value))?.[1];
if (!url) throw new Error("the fake provider did not start");
const fake = connectFakeProvider(
  url,
  async () => {
    proc.stdin.end();
    await proc.exited;
  },
  ca.caPem,
);
await fake.acceptKeys([KEY]);

const source: KeySource = {
  fetchKeys: async () => ({ keys: { openai: KEY }, budget: { monthlyTokens: null, usedThisMonth: 0 } }),
  reportUsage: async () => {},
};
const port = await freePort();
const gateway = new ProviderGateway({
  port,
  source,
  upstreams: { openai: url, anthropic: url, google: url, openrouter: url },
  ca: ca.caPem,
  log: createLogger("warn", {}),
});
gateway.open({
  sessionId: "bench",
  gatewayIp: "127.0.0.1",
  credential: CREDENTIAL,
  peer: async () => "127.0.0.1",
});

type Target = { name: string; url: string; auth: string; ca?: string };
const direct: Target = { name: "direct", url: `${url}/v1/chat/completions`, auth: KEY, ca: ca.caPem };
// The floor of any extra hop: the same HTTPS request through a relay that only copies TCP bytes.
const relay = startTcpRelay(Number(new URL(url).port));
const bareHop: Target = {
  name: "hop",
  url: `https://127.0.0.1:${relay.port}/v1/chat/completions`,
  auth: KEY,
  ca: ca.caPem,
};
const viaGateway: Target = {
  name: "gateway",
  url: `http://127.0.0.1:${port}/openai/v1/chat/completions`,
  auth: CREDENTIAL,
};

await fake.script([
  { match: "long", reply: { kind: "text", chunks: Array.from({ length: STREAM_CHUNKS }, () => CHUNK) } },
  { reply: { kind: "text", chunks: ["a", "b", "c"] } },
]);
// Enough long streams that one slow moment on the shared machine does not move the median.
const streams = 15;
// The client is its own process, as a container's SDK is; the gateway runs here, as in the agent.
const client = Bun.spawn(
  [
    process.execPath,
    join(import.meta.dir, "lib/stream_client.ts"),
    JSON.stringify({ targets: [direct, viaGateway, bareHop], rounds, streams, warmup: 30 }),
  ],
  { stdout: "pipe", stderr: "inherit" },
);
const output = await new Response(client.stdout).text();
if ((await client.exited) !== 0) throw new Error("the bench client failed");
const { ttfb, rate } = JSON.parse(output) as {
  ttfb: Record<string, number[]>;
  rate: Record<string, number[]>;
};
await gateway.stop();
relay.stop();
await fake.stop();

const p = (name: string, q: number) => percentile(ttfb[name] ?? [], q);
const median = (name: string) => percentile(rate[name] ?? [], 50);
const added50 = p("gateway", 50) - p("direct", 50);
const ratio = median("gateway") / median("direct");
const hopRatio = median("hop") / median("direct");
const ms = (v: number) => `${v.toFixed(3)} ms`;
const report = `Command: \`bun bench/provider_gateway.ts ${rounds}\`. Measured ${new Date().toISOString().slice(0, 10)}, x64,
${navigator.hardwareConcurrency} cores shared with other work. The fake provider (test/fakes/provider.ts) runs in its own
process over HTTPS with a test CA; the gateway runs in the bench process on 127.0.0.1 with its key cached
(as between two key refreshes). "Direct" is the same HTTPS request to the fake with the real key.
The client runs in a third process, as a container's SDK would. First byte: ${rounds} short
streamed chats per path, alternating. Long stream: ${STREAM_CHUNKS} chunks of 4 KiB
(${((STREAM_CHUNKS * 4) / 1024).toFixed(1)} MiB of SSE), ${streams} per path, median (MiB/s over the whole stream).

${table(
  ["path", "first byte p50", "first byte p95", "long stream"],
  [
    [
      "direct to the fake (baseline)",
      ms(p("direct", 50)),
      ms(p("direct", 95)),
      `${median("direct").toFixed(1)} MiB/s`,
    ],
    [
      "through the provider gateway",
      ms(p("gateway", 50)),
      ms(p("gateway", 95)),
      `${median("gateway").toFixed(1)} MiB/s`,
    ],
    [
      "through a bare TCP relay in the gateway's place (copies bytes only: the floor of any hop)",
      ms(p("hop", 50)),
      ms(p("hop", 95)),
      `${median("hop").toFixed(1)} MiB/s`,
    ],
  ],
)}

Added latency to first byte (p50): ${ms(added50)} (target ≤ 1 ms). Long-stream throughput: ${ratio.toFixed(2)}× direct (target ≥ 0.9×);
the bare relay, which does no TLS, HTTP or metering at all, reaches ${hopRatio.toFixed(2)}× in the same run.
`;
console.log(report);
writeSection("Provider gateway", report);
// Machine-readable, like the other benchmarks' RATIO lines.
console.log(`RATIO gateway_vs_direct_stream=${ratio.toFixed(3)}`);
console.log(`RATIO bare_hop_vs_direct_stream=${hopRatio.toFixed(3)}`);
console.log(`LATENCY gateway_added_first_byte_p50_ms=${added50.toFixed(3)}`);
process.exit(0);
