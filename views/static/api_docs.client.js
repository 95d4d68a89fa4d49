// The API reference at /api/docs: Scalar's viewer (bundled into the binary, served from /static)
// reading /api/v1/openapi.json. Nothing is fetched from elsewhere: no fonts, no telemetry, no AI
// agent, no MCP, no request proxy; "Test request" calls go straight to this server.
//
// The mount is not called "api-reference": Scalar's bundle mounts a default-configured viewer (fonts
// from its CDN, its AI agent) on an element of that id by itself.
//
// Loaded before scalar.js. The zod inside Scalar probes for eval with Function(""), which the CSP
// (script-src 'self', no 'unsafe-eval') refuses and reports; "jitless" tells zod not to try.
globalThis.__zod_globalConfig = { ...(globalThis.__zod_globalConfig ?? {}), jitless: true };

// Parts of the viewer (its request client) still declare Scalar's hosted fonts in the <style>
// elements they add, and measure the page at once, so the browser would request the fonts (and the
// CSP refuse them) before any observer could react. Style elements are cleaned as they are inserted,
// and an observer catches text changed later.
const HOSTED_FONT = /@font-face\s*\{[^}]*fonts\.scalar\.com[^}]*\}/g;
function dropHostedFonts(node) {
  const styles =
    node instanceof HTMLStyleElement
      ? [node]
      : node instanceof Element || node instanceof DocumentFragment
        ? node.querySelectorAll("style")
        : [];
  for (const style of styles) {
    const text = style.textContent ?? "";
    if (text.includes("fonts.scalar.com")) style.textContent = text.replace(HOSTED_FONT, "");
  }
}
for (const name of ["appendChild", "insertBefore"]) {
  const original = Node.prototype[name];
  Node.prototype[name] = function (node, ...rest) {
    dropHostedFonts(node);
    const result = original.call(this, node, ...rest);
    if (this instanceof HTMLStyleElement) dropHostedFonts(this);
    return result;
  };
}
for (const name of ["append", "prepend", "replaceChildren"]) {
  const original = Element.prototype[name];
  Element.prototype[name] = function (...nodes) {
    for (const node of nodes) dropHostedFonts(node);
    const result = original.apply(this, nodes);
    if (this instanceof HTMLStyleElement) dropHostedFonts(this);
    return result;
  };
}
new MutationObserver((records) => {
  for (const record of records) {
    dropHostedFonts(record.target.nodeType === Node.TEXT_NODE ? record.target.parentNode : record.target);
  }
}).observe(document.documentElement, { childList: true, subtree: true, characterData: true });

document.addEventListener("DOMContentLoaded", () => {
  const mount = document.getElementById("clawfleet-api-reference");
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
