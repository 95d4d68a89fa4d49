// The parts the channels end-to-end test runs against, started once per driver: a network namespace
// with the fake provider (HTTPS, test CA) and the fakes of Telegram, Slack and WhatsApp; a server whose
// public URL is a forwarder on the namespace link's host end (so the fakes can deliver webhooks to it
// while the server stays on loopback); a fleet agent running this checkout's runtime image with the
// channels' API bases pointed at the fakes; and a user with an OpenAI key and a running container.
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import type { RunningAgent } from "../../agent/server.ts";
import { BUILTIN_TEMPLATES } from "../../agent/templates.ts";
import type { DbDriver } from "../../src/db/client.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import type { FakeProvider } from "../fakes/provider.ts";
import { connectFakeSlack, type FakeSlack } from "../fakes/slack.ts";
import { connectFakeTelegramWebhook, type FakeTelegramWebhook } from "../fakes/telegram_webhook.ts";
import { connectFakeWhatsApp, type FakeWhatsApp } from "../fakes/whatsapp.ts";
import { cleanupNode, startTestAgent, TEST_CLUSTER_SECRET } from "../helpers/fleet.ts";
import { createNetns, type Netns, startFakeProviderInNetns } from "../helpers/netns.ts";
import { tempDir } from "../helpers/process.ts";
import { pinnedRuntimeImage } from "../helpers/runtime_image.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";
import { createTestCa } from "../helpers/test_ca.ts";
import { waitFor } from "../helpers/wait.ts";

const FAKES = `${import.meta.dir}/../fakes`;

export type ChannelsStack = {
  netns: Netns;
  server: TestServer;
  /** The public URL's origin (the forwarder), where browsers and platforms reach the server. */
  site: string;
  agentLogs: string[];
  telegram: FakeTelegramWebhook;
  slack: FakeSlack;
  whatsapp: FakeWhatsApp;
  /** The signed-up user's access token. */
  token: string;
  api(path: string, init?: RequestInit): Promise<Response>;
  state(): Promise<string>;
  stop(): Promise<void>;
};

export async function startChannelsStack(
  driver: DbDriver,
  user: { email: string; password: string; openaiKey: string },
  /** false: the server has no CLAWFLEET_PUBLIC_URL (the forwarder still runs, unused). */
  publicUrl = true,
): Promise<ChannelsStack> {
  const image = await pinnedRuntimeImage();
  const netns = await createNetns();
  const ca = createTestCa([netns.address]);
  const stops: (() => Promise<void> | void)[] = [
    () => netns.stop(),
    () => rmSync(ca.dir, { recursive: true, force: true }),
  ];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step();
  };
  try {
    const provider: FakeProvider = await startFakeProviderInNetns(netns, 443, {
      certFile: join(ca.dir, "server.pem"),
      keyFile: join(ca.dir, "server.key"),
      caPem: ca.caPem,
    });
    stops.push(() => provider.stop());
    const spawnFake = async (file: string, port: number) => {
      const child = await netns.spawnReady(`${FAKES}/${file}`, [
        "--host",
        netns.address,
        "--port",
        String(port),
      ]);
      stops.push(child.stop);
      return child;
    };
    const tg = await spawnFake("telegram_webhook.ts", 8081);
    const telegram = connectFakeTelegramWebhook(tg.url, tg.stop);
    const sl = await spawnFake("slack.ts", 8082);
    const slack = connectFakeSlack(sl.url, sl.stop);
    const wa = await spawnFake("whatsapp.ts", 8083);
    const whatsapp = connectFakeWhatsApp(wa.url, wa.stop);

    const runtime = BUILTIN_TEMPLATES.find((t) => t.name === "clawfleet-runtime");
    const templates = join(tempDir("cf-channels-templates"), "templates.json");
    const env = {
      CLAWFLEET_TELEGRAM_API_BASE: telegram.url,
      CLAWFLEET_TELEGRAM_POLL_TIMEOUT: "1",
      CLAWFLEET_SLACK_API_BASE: slack.apiBase,
      CLAWFLEET_WHATSAPP_API_BASE: whatsapp.apiBase,
    };
    writeFileSync(templates, JSON.stringify([{ ...runtime, image, env }]));

    let server: TestServer | null = null;
    const edge = Bun.serve({
      hostname: netns.hostAddress,
      port: 0,
      async fetch(request) {
        const url = new URL(request.url);
        return fetch(`${server?.url}${url.pathname}${url.search}`, {
          method: request.method,
          headers: request.headers,
          body: request.method === "GET" ? undefined : await request.arrayBuffer(),
        });
      },
    });
    stops.push(() => edge.stop(true));
    const site = `http://${netns.hostAddress}:${edge.port}`;
    const started = await startTestServer(driver, {
      env: {
        CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET,
        ...(publicUrl ? { CLAWFLEET_PUBLIC_URL: site } : {}),
        CLAWFLEET_HOOK_WAIT: "60s",
      },
    });
    server = started;
    stops.push(() => started.close());
    const agentLogs: string[] = [];
    const agent: RunningAgent = await startTestAgent(
      {
        CLAWFLEET_AGENT_TEMPLATES: templates,
        CLAWFLEET_SERVER_URL: started.url,
        CLAWFLEET_PROVIDER_UPSTREAMS: `openai=https://${netns.address}`,
        CLAWFLEET_PROVIDER_CA: ca.caFile,
      },
      agentLogs,
    );
    stops.push(async () => {
      await agent.stop();
      await cleanupNode(agent.nodeId);
    });
    await addNode(started.ctx.database.db, { name: "n1", url: agent.url, fingerprint: agent.fingerprint });
    await started.reconcile();

    const signup = await json(
      await fetch(`${started.url}/api/v1/auth/signup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: user.email, password: user.password }),
      }),
    );
    const token = signup.access_token as string;
    await started.ctx.database.db.execute(
      sql`update users set plan_id = 'ultra' where id = ${signup.user.id}`,
    );
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${started.url}/api/v1${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          ...(init.headers ?? {}),
        },
      });
    const state = async () => (await json(await api("/session"))).state as string;
    const key = await api("/credentials", {
      method: "POST",
      body: JSON.stringify({ provider: "openai", key: user.openaiKey }),
    });
    if (key.status !== 201) throw new Error(`adding the key answered ${key.status}`);
    const spawn = await api("/session/spawn", { method: "POST" });
    if (spawn.status !== 202) throw new Error(`spawn answered ${spawn.status}`);
    await waitFor("running", state, (s) => s === "running", 90_000);
    return { netns, server: started, site, agentLogs, telegram, slack, whatsapp, token, api, state, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
