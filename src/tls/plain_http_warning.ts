// Plain HTTP on an address other people can reach sends passwords and session cookies in the clear.
// The server still starts (a TLS-terminating proxy in front is a valid setup), but says so loudly at
// start and to admins in the console.

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/i;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host.replace(/^\[|\]$/g, ""));
}

export const PLAIN_HTTP_WARNING =
  "serving plain HTTP on a non-loopback address: passwords and cookies cross the network unencrypted. " +
  "Set CLAWFLEET_DOMAIN for automatic HTTPS, CLAWFLEET_TLS_CERT/CLAWFLEET_TLS_KEY, or put a TLS proxy " +
  "in front and list it in CLAWFLEET_TRUSTED_PROXIES.";

/** True when the server listens on plain HTTP where more than this machine can reach it. */
export function servesPlainHttpPublicly(host: string, https: boolean): boolean {
  return !https && !isLoopbackHost(host);
}

/** The console banner's condition: plain HTTP, reachable from elsewhere, and no TLS proxy declared. */
export function plainHttpWarningFor(config: {
  host: string;
  tls: unknown;
  acme: unknown;
  trustedProxies: string[];
}): boolean {
  return (
    servesPlainHttpPublicly(config.host, Boolean(config.tls || config.acme)) &&
    config.trustedProxies.length === 0
  );
}
