// biome-ignore-all lint/suspicious/noTemplateCurlyInString: OpenClaw itself substitutes ${VAR} in its configuration.
// The OpenClaw configuration baked into clawfleet-openclaw (read-only at /etc/openclaw/openclaw.json,
// OPENCLAW_CONFIG_READONLY=1): the platform owns it, the user's state lives in /data. Every value that
// differs per container or per node comes from the environment through OpenClaw's `${VAR}`
// substitution, so the image stays the same everywhere:
//   OPENCLAW_GATEWAY_TOKEN  the per-container gateway token the agent sets (template tokenEnv);
//   OPENAI_BASE_URL, ANTHROPIC_BASE_URL, OPENROUTER_BASE_URL  where provider calls go: the node's
//     provider gateway when the agent sets them, the providers themselves otherwise (image ENV);
//   OPENAI_API_KEY, ANTHROPIC_API_KEY, OPENROUTER_API_KEY  the key, or the gateway's stand-in for it.
// The OpenAI provider speaks chat completions, the one OpenAI wire format every OpenAI-compatible
// endpoint (and the provider gateway) serves.
export const OPENCLAW_DEFAULT_MODEL = "openai/gpt-4.1-mini";

export const OPENCLAW_CONFIG = {
  gateway: {
    mode: "local",
    auth: { mode: "token", token: "${OPENCLAW_GATEWAY_TOKEN}" },
    // POST /v1/chat/completions on the gateway port, behind the same token: a turn without a
    // WebSocket client (the platform's own checks use it).
    http: { endpoints: { chatCompletions: { enabled: true } } },
  },
  // Its rolling log file stays in the 64 MiB /tmp tmpfs: at most six files of 8 MiB (the default,
  // 100 MiB, would fill it); the same lines go to stdout, which Docker keeps (bounded).
  logging: { maxFileBytes: 8 * 1024 * 1024 },
  models: {
    mode: "merge",
    providers: {
      openai: {
        baseUrl: "${OPENAI_BASE_URL}",
        apiKey: "${OPENAI_API_KEY}",
        api: "openai-completions",
        models: [{ id: "gpt-4.1-mini", name: "GPT-4.1 mini" }],
      },
      anthropic: {
        baseUrl: "${ANTHROPIC_BASE_URL}",
        apiKey: "${ANTHROPIC_API_KEY}",
        api: "anthropic-messages",
        models: [{ id: "claude-sonnet-4-5", name: "Claude Sonnet 4.5" }],
      },
      openrouter: {
        baseUrl: "${OPENROUTER_BASE_URL}",
        apiKey: "${OPENROUTER_API_KEY}",
        api: "openai-completions",
        models: [{ id: "openai/gpt-4.1-mini", name: "GPT-4.1 mini via OpenRouter" }],
      },
    },
  },
  // Off: web search is a plugin OpenClaw would install from npm at start (an OpenRouter key alone
  // makes it pick Perplexity), which a read-only image without npm cannot do: the gateway then
  // refuses to start ("requires state migration", exit 78).
  tools: { web: { search: { enabled: false } } },
  agents: { defaults: { model: { primary: OPENCLAW_DEFAULT_MODEL } } },
};
