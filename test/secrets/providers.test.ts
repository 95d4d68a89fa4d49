import { expect, test } from "bun:test";
import { checkKey, keyPreview } from "../../src/secrets/providers.ts";

const good = {
  anthropic: "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789",
  openai: "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789",
  google: `AIza${"B".repeat(35)}`,
  openrouter: "sk-or-v1-abcdefghijklmnopqrstuvwxyz0123456789",
} as const;

test("each provider's key format is accepted", () => {
  for (const [provider, key] of Object.entries(good)) expect(checkKey(provider, key)).toBeNull();
});

test("wrong formats, wrong providers, spaces and control characters are refused without echoing the key", () => {
  const secret = "sk-ant-api03-SECRETSECRETSECRETSECRET";
  for (const [provider, key] of [
    ["openai", good.anthropic],
    ["anthropic", good.openai],
    ["openai", good.openrouter],
    ["google", "AIzaShort"],
    ["anthropic", "sk-ant-with space inside the key 12345"],
    ["anthropic", "sk-ant-abc\u0000defghijklmnopqrstuvwxyz"],
    ["mistral", secret],
  ] as const) {
    const problem = checkKey(provider, key);
    expect(problem).not.toBeNull();
    expect(problem?.message).not.toContain(key);
  }
});

test("previews show the prefix and the last four characters only", () => {
  expect(keyPreview("anthropic", good.anthropic)).toBe("sk-ant-…6789");
  expect(keyPreview("openrouter", good.openrouter)).toBe("sk-or-v1-…6789");
  expect(keyPreview("google", good.google)).toBe("AIza…BBBB");
});
