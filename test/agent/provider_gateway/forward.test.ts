// The gateway's request path without Docker: a listener on 127.0.0.1 standing in for a bridge address,
// the HTTPS fake provider (test CA) upstream. Which header carries the key for each wire format, what
// never goes upstream, usage reported from Anthropic's stream, and each refusal's status and message.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import type { ProviderKeysResponse, TokenUsageReport } from "../../../agent/api/contract.ts";
import { ProviderGateway } from "../../../agent/provider_gateway/gateway.ts";
import { type KeySource, ServerChannelError } from "../../../agent/provider_gateway/server_channel.ts";
import { createLogger } from "../../../common/log.ts";
import { type FakeProvider, startFakeProvider } from "../../fakes/provider.ts";
import { freePort } from "../../helpers/process.ts";
import { createTestCa, type TestCa } from "../../helpers/test_ca.ts";

const CREDENTIAL = `cfgw_${"c".repeat(64)}`;
const KEYS = {
  anthropic: "sk-ant-forward-0123456789abcdefghij",
  google: "AIzaForward0123456789abcdefghijklmnopq",
};
let ca: TestCa;
let fake: FakeProvider;
let gateway: ProviderGateway;
let base = "";
const state = {
  keys: { ...KEYS } as ProviderKeysResponse["keys"],
  budget: { monthlyTokens: null as number | null, usedThisMonth: 0 },
  down: false,
  peer: "127.0.0.1",
  reports: [] as TokenUsageReport[],
};

beforeAll(async () => {
  ca = createTestCa();
  fake = startFakeProvider({ tls: { cert: ca.cert, key: ca.key } });
  const source: KeySource = {
    async fetchKeys() {
      if (state.down) throw new ServerChannelError(503, "down");
      return { keys: { ...state.keys }, budget: { ...state.budget } };
    },
    async reportUsage(reports) {
      state.reports.push(...reports);
    },
  };
  const port = await freePort();
  gateway = new ProviderGateway({
    port,
    source,
    upstreams: { anthropic: fake.url, openai: fake.url, google: fake.url, openrouter: fake.url },
    ca: ca.caPem,
    log: createLogger("error", {}),
  });
  gateway.open({
    sessionId: "0b6f2f8e-1f0e-4c7b-9f59-1a2b3c4d5e6f",
    gatewayIp: "127.0.0.1",
    credential: CREDENTIAL,
    peer: async () => state.peer,
  });
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await gateway?.stop();
  await fake?.stop();
  if (ca) rmSync(ca.dir, { recursive: true, force: true });
});

const anthropic = (credential = CREDENTIAL) =>
  fetch(`${base}/anthropic/v1/messages`, {
    method: "POST",
    headers: {
      "x-api-key": credential,
      "anthropic-version": "2023-06-01",
      "content-type": "application/json",
    },
    body: JSON.stringify({
      model: "claude-haiku-4-5",
      max_tokens: 64,
      stream: true,
      messages: [{ role: "user", content: "hello" }],
    }),
  });

test("Anthropic: the key goes in x-api-key, the credential nowhere; the stream's tokens are reported", async () => {
  await fake.clearRequests();
  await fake.script([{ reply: { kind: "text", chunks: ["Hi", " there"], usage: { input: 31, output: 7 } } }]);
  const response = await anthropic();
  expect(response.status).toBe(200);
  expect(await response.text()).toContain("message_stop");
  const [request] = await fake.requests();
  expect(request?.headers["x-api-key"]).toBe(KEYS.anthropic);
  expect(JSON.stringify(request?.headers)).not.toContain("cfgw_");
  await gateway.usage.flush();
  expect(state.reports).toEqual([
    expect.objectContaining({
      provider: "anthropic",
      model: "claude-haiku-4-5",
      inputTokens: 31,
      outputTokens: 7,
      requests: 1,
    }),
  ]);
});

test("Google: a ?key= credential becomes x-goog-api-key upstream and leaves the query", async () => {
  await fake.clearRequests();
  await fetch(`${base}/google/v1beta/models/gemini-2.5-flash:generateContent?key=${CREDENTIAL}&alt=sse`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ contents: [{ parts: [{ text: "hi" }] }] }),
  }).then((r) => r.text());
  const [request] = await fake.requests();
  expect(request?.path).toBe("/v1beta/models/gemini-2.5-flash:generateContent");
  expect(request?.query).toBe("?alt=sse");
  expect(request?.headers["x-goog-api-key"]).toBe(KEYS.google);
  expect(JSON.stringify(request)).not.toContain("cfgw_");
});

test("refusals: wrong credential 401, wrong network 403, unknown provider 404, no key 401, budget 429, server down 503", async () => {
  const body = async (r: Response) => ({
    status: r.status,
    ...((await r.json()) as { error: { code: string; message: string } }),
  });
  expect(await body(await anthropic(`cfgw_${"d".repeat(64)}`))).toMatchObject({
    status: 401,
    error: { code: "invalid_credential" },
  });
  expect(
    (await fetch(`${base}/mistral/v1/chat`, { headers: { authorization: `Bearer ${CREDENTIAL}` } })).status,
  ).toBe(404);
  const openai = await body(
    await fetch(`${base}/openai/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${CREDENTIAL}`, "content-type": "application/json" },
      body: "{}",
    }),
  );
  expect(openai).toMatchObject({ status: 401, error: { code: "no_provider_key" } });
  expect(openai.error.message).toContain("No OpenAI key");

  gateway.keys.forget("0b6f2f8e-1f0e-4c7b-9f59-1a2b3c4d5e6f");
  state.budget = { monthlyTokens: 100, usedThisMonth: 100 };
  const over = await body(await anthropic());
  expect(over).toMatchObject({ status: 429, error: { code: "token_budget_exceeded" } });
  expect(over.error.message).toContain("monthly token budget");

  gateway.keys.forget("0b6f2f8e-1f0e-4c7b-9f59-1a2b3c4d5e6f");
  state.budget = { monthlyTokens: null, usedThisMonth: 0 };
  state.down = true;
  expect(await body(await anthropic())).toMatchObject({ status: 503, error: { code: "keys_unavailable" } });
  state.down = false;

  state.peer = "10.99.0.2";
  gateway.open({
    sessionId: "0b6f2f8e-1f0e-4c7b-9f59-1a2b3c4d5e6f",
    gatewayIp: "127.0.0.1",
    credential: CREDENTIAL,
    peer: async () => state.peer,
  });
  expect(await body(await anthropic())).toMatchObject({ status: 403, error: { code: "wrong_network" } });
  state.peer = "127.0.0.1";
});
