// Headers on every response: a CSP that allows no inline script, no framing, no referrer leaks, and
// HSTS when the request came over HTTPS.
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * /api/docs alone also allows inline styles: Scalar's viewer injects its CSS as <style> elements
 * and sets style attributes. Scripts stay 'self' only (no eval, no inline script) and connections
 * stay on this origin; the page shows only our own OpenAPI document, with no user data in it.
 */
export const API_DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
  "style-src 'self'",
  "style-src 'self' 'unsafe-inline'",
);

export function securityHeaders(secure: boolean, path = ""): Record<string, string> {
  return {
    "content-security-policy":
      path === "/api/docs" ? API_DOCS_CONTENT_SECURITY_POLICY : CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    ...(secure ? { "strict-transport-security": "max-age=63072000; includeSubDomains" } : {}),
  };
}

export function applySecurityHeaders(headers: Record<string, unknown>, secure: boolean): void {
  Object.assign(headers, securityHeaders(secure));
}
