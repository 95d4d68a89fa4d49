// IPv4 and IPv6 addresses and CIDR ranges, parsed strictly (both the server's trusted-proxy list and
// the agent's egress allow-list are security decisions: `10.0.0.1/33` or `::/129` must be refused, not
// read as something else). Addresses become bigints so one comparison serves both families.

export type IpFamily = 4 | 6;
export type ParsedIp = { family: IpFamily; value: bigint };
export type Cidr = ParsedIp & { bits: number };

function parseV4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseV6(text: string): bigint | null {
  let head = text;
  let tailV4: bigint | null = null;
  // A trailing dotted quad (::ffff:192.0.2.1) is the last 32 bits.
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    if (tailV4 === null) return null;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groups(halves[0] ?? "");
  const right = halves.length === 2 ? groups(halves[1] ?? "") : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  let value = 0n;
  for (const group of [...left, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...right]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    value = (value << 16n) | BigInt(`0x${group}`);
  }
  return tailV4 === null ? value : (value & ~0xffffffffn) | tailV4;
}

const V4_MAPPED = 0xffff00000000n;

/** An address, with IPv4-mapped IPv6 (`::ffff:a.b.c.d`) read as the IPv4 address it carries. */
export function parseIp(text: string): ParsedIp | null {
  const trimmed = text
    .trim()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/%.*$/, "");
  const v4 = parseV4(trimmed);
  if (v4 !== null) return { family: 4, value: v4 };
  if (!trimmed.includes(":")) return null;
  const v6 = parseV6(trimmed);
  if (v6 === null) return null;
  if (v6 >> 32n === V4_MAPPED >> 32n) return { family: 4, value: v6 & 0xffffffffn };
  return { family: 6, value: v6 };
}

/** `a.b.c.d/n` (n ≤ 32), `x::y/n` (n ≤ 128), or a bare address (the /32 or /128 of it). */
export function parseCidr(text: string): Cidr | null {
  const [address = "", bitsText, extra] = text.trim().split("/");
  if (extra !== undefined) return null;
  const ip = parseIp(address);
  if (!ip) return null;
  const max = ip.family === 4 ? 32 : 128;
  if (bitsText === undefined) return { ...ip, bits: max };
  if (!/^(0|[1-9]\d{0,2})$/.test(bitsText) || Number(bitsText) > max) return null;
  return { ...ip, bits: Number(bitsText) };
}

function mask(family: IpFamily, bits: number): bigint {
  const width = family === 4 ? 32n : 128n;
  return ((1n << BigInt(bits)) - 1n) << (width - BigInt(bits));
}

export function inCidr(ip: ParsedIp, cidr: Cidr): boolean {
  if (ip.family !== cidr.family) return false;
  const m = mask(cidr.family, cidr.bits);
  return (ip.value & m) === (cidr.value & m);
}

export function formatIp(ip: ParsedIp): string {
  if (ip.family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 255n)).join(".");
  }
  const groups = Array.from({ length: 8 }, (_, i) =>
    ((ip.value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16),
  );
  return groups
    .join(":")
    .replace(/(^|:)0(:0)+(:|$)/, "::")
    .replace(/:{3,}/, "::");
}

export function formatCidr(cidr: Cidr): string {
  const network = { family: cidr.family, value: cidr.value & mask(cidr.family, cidr.bits) };
  return `${formatIp(network)}/${cidr.bits}`;
}

/**
 * The key one client is counted under: an IPv4 address as itself, an IPv6 address by its /64 (one
 * subscriber usually gets a whole /64, and rotating inside it must not buy fresh attempts).
 */
export function clientKey(address: string): string {
  const ip = parseIp(address);
  if (!ip) return address.slice(0, 100);
  return ip.family === 4 ? formatIp(ip) : formatCidr({ ...ip, bits: 64 });
}
