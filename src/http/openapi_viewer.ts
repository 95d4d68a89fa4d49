// /api/docs: the API reference, drawn by Scalar's viewer from /api/v1/openapi.json. The viewer is a
// bundled file under /static (no CDN), started by api_docs.js (no inline script: the CSP forbids it).
import { assetUrl } from "./static.ts";

export const API_DOCS_PATH = "/api/docs";

export function apiDocsPage(version: string): string {
  const v = Bun.escapeHTML(version);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API reference · clawfleet ${v}</title>
<link rel="icon" href="${assetUrl("favicon.svg")}" type="image/svg+xml">
<script src="${assetUrl("api_docs.js")}" defer></script>
<script src="${assetUrl("scalar.js")}" defer></script>
</head>
<body>
<div id="clawfleet-api-reference" data-spec-url="/api/v1/openapi.json"></div>
<noscript><p>The API reference needs JavaScript. The description itself is
<a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1); <a href="/dashboard">back to the console</a>.</p></noscript>
</body>
</html>`;
}
