// The runtime follows the fleet agent's provider gateway through the SDKs' base-URL variables, and an
// explicit CLAWFLEET_… base still wins (tests and operators pointing one provider elsewhere).
import { expect, test } from "bun:test";
import { loadRuntimeConfig } from "../../runtime/config.ts";

const gateway = "http://10.224.0.1:7480";

test("the SDK base-URL variables point every provider at the gateway (Gemini through its OpenAI API)", () => {
  const config = loadRuntimeConfig({
    ANTHROPIC_BASE_URL: `${gateway}/anthropic`,
    OPENAI_BASE_URL: `${gateway}/openai/v1`,
    OPENROUTER_BASE_URL: `${gateway}/openrouter/api/v1/`,
    GOOGLE_GEMINI_BASE_URL: `${gateway}/google`,
    OPENAI_API_KEY: `cfgw_${"a".repeat(64)}`,
  });
  expect(config.providers.anthropic.baseUrl).toBe(`${gateway}/anthropic`);
  expect(config.providers.openai.baseUrl).toBe(`${gateway}/openai/v1`);
  expect(config.providers.openrouter.baseUrl).toBe(`${gateway}/openrouter/api/v1`);
  expect(config.providers.gemini.baseUrl).toBe(`${gateway}/google/v1beta/openai`);
});

test("CLAWFLEET_<PROVIDER>_BASE_URL wins; without either, the public endpoint; a bad one names its variable", () => {
  const config = loadRuntimeConfig({
    OPENAI_BASE_URL: `${gateway}/openai/v1`,
    CLAWFLEET_OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
  });
  expect(config.providers.openai.baseUrl).toBe("http://127.0.0.1:9/v1");
  expect(config.providers.anthropic.baseUrl).toBe("https://api.anthropic.com");
  expect(() => loadRuntimeConfig({ ANTHROPIC_BASE_URL: "ftp://x" })).toThrow(/^ANTHROPIC_BASE_URL: /);
});
