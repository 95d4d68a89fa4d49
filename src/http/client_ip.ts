// The client's address: the socket peer, unless the peer is a trusted proxy, in which case the
// right-most untrusted address of X-Forwarded-For.
function ipv4ToInt(ip: string): number | null {
  const parts = ip.split(".");
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    const n = Number(part);
    if (!/^\d{1,3}$/.test(part) || n > 255) return null;
    value = value * 256 + n;
  }
  return value;
}

function normalise(ip: string): string {
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}

export function ipMatches(ip: string, rule: string): boolean {
  const [base = "", bitsText] = rule.split("/");
  const addr = normalise(ip);
  if (bitsText === undefined) return addr === normalise(base);
  const a = ipv4ToInt(addr);
  const b = ipv4ToInt(base);
  if (a === null || b === null) return false;
  const bits = Number(bitsText);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (a & mask) >>> 0 === (b & mask) >>> 0;
}

export function clientIp(request: Request, peer: string | undefined, trustedProxies: string[]): string {
  const remote = normalise(peer ?? "unknown");
  if (!trustedProxies.some((rule) => ipMatches(remote, rule))) return remote;
  const forwarded = (request.headers.get("x-forwarded-for") ?? "")
    .split(",")
    .map((s) => normalise(s.trim()))
    .filter(Boolean);
  for (let i = forwarded.length - 1; i >= 0; i--) {
    const hop = forwarded[i] ?? "";
    if (!trustedProxies.some((rule) => ipMatches(hop, rule))) return hop;
  }
  return remote;
}

/** Whether the original request was HTTPS: TLS on our socket, or a trusted proxy saying so. */
export function isSecureRequest(
  request: Request,
  peer: string | undefined,
  trustedProxies: string[],
): boolean {
  if (new URL(request.url).protocol === "https:") return true;
  const remote = normalise(peer ?? "");
  return (
    trustedProxies.some((rule) => ipMatches(remote, rule)) &&
    request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim() === "https"
  );
}
