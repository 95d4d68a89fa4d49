// The in-process runtime the tool tests share: the fake provider on loopback, a local site standing
// in for the public internet (opened with CLAWFLEET_FETCH_ALLOW), and a gateway client. Everything is
// made in the hooks `useToolsRuntime()` registers, so each test file gets its own; the exported
// bindings are live.
import { afterAll, beforeAll, beforeEach } from "bun:test";
import { rmSync } from "node:fs";
import { type Runtime, startRuntime } from "../../../runtime/app.ts";
import { loadRuntimeConfig } from "../../../runtime/config.ts";
import { type FakeProvider, type FakeReply, startFakeProvider } from "../../fakes/provider.ts";
import { freePort, tempDir } from "../../helpers/process.ts";
import { type Frame, GatewayClient } from "../gateway_client.ts";

export let fake: FakeProvider;
export let runtime: Runtime;
export let client: GatewayClient;
export let dataDir = "";
export let outside = "";
export let OPENAI_KEY = "";
export let ANTHROPIC_KEY = "";
export let TOKEN = "";
export let site: ReturnType<typeof Bun.serve>;
export const logs: string[] = [];
export const siteHits: string[] = [];

export function useToolsRuntime(): void {
  beforeAll(async () => {
    fake = startFakeProvider();
    OPENAI_KEY = `openai-test-key-${crypto.randomUUID()}`;
    ANTHROPIC_KEY = `anthropic-test-key-${crypto.randomUUID()}`;
    TOKEN = `gateway-token-${crypto.randomUUID()}`;
    dataDir = tempDir("cf-runtime-tools");
    outside = tempDir("cf-runtime-tools-outside");
    logs.length = 0;
    site = Bun.serve({
      hostname: "127.0.0.2",
      port: 0,
      fetch(request) {
        const url = new URL(request.url);
        siteHits.push(url.pathname);
        if (url.pathname === "/big") return new Response("x".repeat(600 * 1024));
        if (url.pathname === "/hop") return Response.redirect("http://127.0.0.1:9/secret", 302);
        return new Response(`hello from ${url.pathname}`, { headers: { "content-type": "text/plain" } });
      },
    });
    const port = await freePort();
    runtime = await startRuntime(
      loadRuntimeConfig({
        HOST: "127.0.0.1",
        PORT: String(port),
        CLAWFLEET_DATA_DIR: dataDir,
        CLAWFLEET_GATEWAY_TOKEN: TOKEN,
        OPENAI_API_KEY: OPENAI_KEY,
        ANTHROPIC_API_KEY: ANTHROPIC_KEY,
        CLAWFLEET_DEFAULT_PROVIDER: "openai",
        CLAWFLEET_OPENAI_BASE_URL: fake.openaiBaseUrl,
        CLAWFLEET_ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
        CLAWFLEET_FETCH_ALLOW: "127.0.0.2/32",
      }),
      { logSink: (line) => logs.push(line) },
    );
    client = await GatewayClient.connect(`ws://127.0.0.1:${port}/gateway`, TOKEN);
    await client.next((f) => f.type === "hello");
  });

  afterAll(async () => {
    client?.close();
    await runtime?.stop();
    await fake?.stop();
    site?.stop(true);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await fake.script([]);
    await fake.clearRequests();
    await client.request({ type: "settings.set", shell_mode: "run" });
  });
}

export const PROVIDERS = ["openai", "anthropic"] as const;

/** One tool round then a closing text, matched by a marker in the user's message. */
export async function scriptToolTurn(
  marker: string,
  calls: { name: string; input: Record<string, unknown> }[],
) {
  const toolReply: FakeReply = { kind: "tool_calls", chunks: ["Let me look."], calls };
  await fake.script([
    { match: marker, times: 1, reply: toolReply },
    { match: marker, times: 1, reply: { kind: "text", chunks: ["All ", "done."] } },
  ]);
}

/** The tool results the runtime sent back in its second request, in either API's shape. */
export async function toolResultsSent(): Promise<string[]> {
  const requests = await fake.requests();
  const second = requests[1]?.body as { messages: { role: string; content: unknown }[] } | undefined;
  if (!second) return [];
  const out: string[] = [];
  for (const message of second.messages) {
    if (message.role === "tool") out.push(String(message.content));
    if (message.role === "user" && Array.isArray(message.content)) {
      for (const block of message.content as { type: string; content: string }[]) {
        if (block.type === "tool_result") out.push(block.content);
      }
    }
  }
  return out;
}

export function toolFrames(frames: Frame[], type: string): Frame[] {
  return frames.filter((f) => f.type === type);
}
