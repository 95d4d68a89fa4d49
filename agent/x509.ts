// A self-signed X.509 v3 certificate (ECDSA P-256, SHA-256) built with WebCrypto and a small DER
// encoder, so the agent binary needs no openssl beside it. It carries what `openssl req -x509` puts
// in one: basicConstraints CA:TRUE (the control plane trusts exactly this certificate as its only
// CA), subject/authority key identifiers, and subjectAltNames; the pin, not a name, is the identity.

const encoder = new TextEncoder();

function length(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function tlv(tag: number, ...content: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const body = Buffer.concat(content);
  return new Uint8Array([tag, ...length(body.length), ...body]);
}

const seq = (...items: Uint8Array[]) => tlv(0x30, ...items);
const set = (...items: Uint8Array[]) => tlv(0x31, ...items);
const explicit = (n: number, item: Uint8Array) => tlv(0xa0 + n, item);
const octets = (bytes: Uint8Array) => tlv(0x04, bytes);
const bits = (bytes: Uint8Array) => tlv(0x03, new Uint8Array([0]), bytes);
const utf8 = (text: string) => tlv(0x0c, encoder.encode(text));
const bool = (v: boolean) => tlv(0x01, new Uint8Array([v ? 0xff : 0]));

/** A non-negative INTEGER from big-endian bytes (minimal, with a 0 byte when the top bit is set). */
function uint(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return tlv(0x02, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([new Uint8Array([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Uint8Array {
  const [a = 0, b = 0, ...rest] = dotted.split(".").map(Number);
  const out = [a * 40 + b];
  for (const n of rest) {
    const group = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) group.unshift(0x80 | (v & 0x7f));
    out.push(...group);
  }
  return tlv(0x06, new Uint8Array(out));
}

/** UTCTime until 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
function time(date: Date): Uint8Array {
  const iso = date.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return date.getUTCFullYear() < 2050
    ? tlv(0x17, encoder.encode(`${iso.slice(2)}Z`))
    : tlv(0x18, encoder.encode(`${iso}Z`));
}

const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  subjectKeyIdentifier: "2.5.29.14",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
};

function name(commonName: string) {
  return seq(set(seq(oid(OID.commonName), utf8(commonName))));
}

function extension(id: string, critical: boolean, value: Uint8Array) {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

function altNames(dns: string[], ips: string[]) {
  return seq(
    ...dns.map((d) => tlv(0x82, encoder.encode(d))),
    ...ips.map((ip) => tlv(0x87, new Uint8Array(ip.split(".").map(Number)))),
  );
}

/** WebCrypto signs ECDSA as r‖s; X.509 wants SEQUENCE { INTEGER r, INTEGER s }. */
function ecdsaDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  return seq(uint(raw.subarray(0, half)), uint(raw.subarray(half)));
}

function pem(label: string, der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

export type SelfSigned = { certPem: string; keyPem: string };

export async function selfSignedCertificate(opts: {
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  days: number;
  now?: Date;
}): Promise<SelfSigned> {
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const rawPublic = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
  // Key identifier: SHA-1 of the public key bits (RFC 5280 4.2.1.2, method 1).
  const keyId = new Uint8Array(await crypto.subtle.digest("SHA-1", rawPublic));
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const now = opts.now ?? new Date();
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  const notAfter = new Date(now.getTime() + opts.days * 24 * 60 * 60 * 1000);
  const algorithm = seq(oid(OID.ecdsaWithSha256));

  const tbs = seq(
    explicit(0, uint(new Uint8Array([2]))),
    uint(serial),
    algorithm,
    name(opts.commonName),
    seq(time(notBefore), time(notAfter)),
    name(opts.commonName),
    spki,
    explicit(
      3,
      seq(
        extension(OID.subjectKeyIdentifier, false, octets(keyId)),
        extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, keyId))),
        extension(OID.basicConstraints, true, seq(bool(true))),
        extension(OID.subjectAltName, false, altNames(opts.dnsNames, opts.ipAddresses)),
      ),
    ),
  );
  const signature = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, tbs),
  );
  const certificate = seq(tbs, algorithm, bits(ecdsaDer(signature)));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return { certPem: pem("CERTIFICATE", certificate), keyPem: pem("PRIVATE KEY", pkcs8) };
}
