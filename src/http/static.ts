// The console's browser files, embedded in the binary (text imports) and served from memory under
// /static/<name>. Pages link them as /static/<name>?v=<content hash>: a matching hash may be cached
// forever, anything else is revalidated, so an upgrade never leaves a browser on old scripts.

import fitAddonJs from "@xterm/addon-fit/lib/addon-fit.js" with { type: "text" };
import xtermCss from "@xterm/xterm/css/xterm.css" with { type: "text" };
import xtermJs from "@xterm/xterm/lib/xterm.js" with { type: "text" };
import { Elysia } from "elysia";
import hxSseJs from "htmx.org/dist/ext/hx-sse.min.js" with { type: "text" };
import htmxJs from "htmx.org/dist/htmx.min.js" with { type: "text" };
import { sha256Hex } from "../../common/crypto.ts";
// Its package exports no path to the browser bundle, hence the path into node_modules.
import scalarJs from "../../node_modules/@scalar/api-reference/dist/browser/standalone.js" with {
  type: "text",
};
import apiDocsJs from "../../views/static/api_docs.client.js" with { type: "text" };
import chatJs from "../../views/static/chat.client.js" with { type: "text" };
import chatToolsJs from "../../views/static/chat_tools.client.js" with { type: "text" };
import consoleJs from "../../views/static/console.client.js" with { type: "text" };
import consoleCss from "../../views/static/console.css" with { type: "text" };
import dashboardJs from "../../views/static/dashboard.client.js" with { type: "text" };
import faviconSvg from "../../views/static/favicon.svg" with { type: "text" };
import terminalJs from "../../views/static/terminal.client.js" with { type: "text" };

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

type Asset = { body: string; type: string; hash: string };

function asset(body: string, type: string): Asset {
  const hash = sha256Hex(body).slice(0, 16);
  return { body, type, hash };
}

const ASSETS: Record<string, Asset> = {
  "htmx.min.js": asset(htmxJs, JS),
  "hx-sse.js": asset(hxSseJs, JS),
  "xterm.js": asset(xtermJs, JS),
  "xterm.css": asset(xtermCss, CSS),
  "addon-fit.js": asset(fitAddonJs, JS),
  "console.css": asset(consoleCss, CSS),
  "console.js": asset(consoleJs, JS),
  "chat.js": asset(chatJs, JS),
  "chat-tools.js": asset(chatToolsJs, JS),
  "dashboard.js": asset(dashboardJs, JS),
  "terminal.js": asset(terminalJs, JS),
  "favicon.svg": asset(faviconSvg, "image/svg+xml"),
  "scalar.js": asset(scalarJs, JS),
  "api_docs.js": asset(apiDocsJs, JS),
};

export type AssetName = keyof typeof ASSETS;

/** The URL a page links an asset by, versioned by its content. */
export function assetUrl(name: AssetName): string {
  const found = ASSETS[name];
  if (!found) throw new Error(`unknown asset ${name}`);
  return `/static/${name}?v=${found.hash}`;
}

export function staticRoutes() {
  return new Elysia({ name: "console-static" })
    .get(
      "/favicon.ico",
      () => new Response(null, { status: 301, headers: { location: assetUrl("favicon.svg") } }),
    )
    .get("/static/:name", ({ params, query }) => {
      const found = Object.hasOwn(ASSETS, params.name) ? ASSETS[params.name] : undefined;
      if (!found) {
        return new Response("Not found", {
          status: 404,
          headers: { "content-type": "text/plain; charset=utf-8" },
        });
      }
      return new Response(found.body, {
        headers: {
          "content-type": found.type,
          etag: `"${found.hash}"`,
          "cache-control":
            query.v === found.hash
              ? "public, max-age=31536000, immutable"
              : "public, max-age=0, must-revalidate",
        },
      });
    });
}
