// The API reference at /api/docs: Scalar's viewer (bundled into the binary, served from /static)
// reading /api/v1/openapi.json. Nothing is fetched from elsewhere: no fonts, no telemetry, no AI
// agent, no MCP, no request proxy; "Test request" calls go straight to this server.
//
// Loaded before scalar.js. The zod inside Scalar probes for eval with Function(""), which the CSP
// (script-src 'self', no 'unsafe-eval') refuses and reports; "jitless" tells zod not to try.
globalThis.__zod_globalConfig = { ...(globalThis.__zod_globalConfig ?? {}), jitless: true };

document.addEventListener("DOMContentLoaded", () => {
  const mount = document.getElementById("api-reference");
  if (!mount || !window.Scalar) return;
  window.Scalar.createApiReference(mount, {
    url: mount.dataset.specUrl,
    withDefaultFonts: false,
    telemetry: false,
    agent: { disabled: true },
    mcp: { disabled: true },
    showDeveloperTools: "never",
    persistAuth: false,
    documentDownloadType: "json",
    hideDarkModeToggle: false,
  });
});
