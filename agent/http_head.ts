// The little HTTP/1.1 the agent's front (front.ts) speaks itself: finding the end of a head, reading
// a request or status line and its headers, and writing an answer on a raw socket. Everything beyond
// the first request of a connection is Bun.serve's.

/** The largest request or response head the front reads before giving up on it. */
export const MAX_HEAD = 16 * 1024;

const CRLF2 = Buffer.from("\r\n\r\n");

/** The length of the head at the start of `buffer` (through its blank line), or -1 if not all there. */
export function headLength(buffer: Uint8Array): number {
  const at = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength).indexOf(CRLF2);
  return at < 0 ? -1 : at + 4;
}

export type RequestHead = { method: string; target: string; headers: Headers };

/** The request line and headers, or null when they are not HTTP/1.1 a client would send. */
export function parseRequestHead(head: Uint8Array): RequestHead | null {
  const lines = new TextDecoder().decode(head).split("\r\n");
  const line = /^([A-Z]+) (\/\S*) HTTP\/1\.1$/.exec(lines[0] ?? "");
  if (!line) return null;
  const headers = parseHeaders(lines.slice(1));
  return headers ? { method: line[1] as string, target: line[2] as string, headers } : null;
}

/** The status of a response head, and its headers. */
export function parseResponseHead(head: Uint8Array): { status: number; headers: Headers } | null {
  const lines = new TextDecoder().decode(head).split("\r\n");
  const line = /^HTTP\/1\.1 (\d{3})(?: .*)?$/.exec(lines[0] ?? "");
  const headers = parseHeaders(lines.slice(1));
  return line && headers ? { status: Number(line[1]), headers } : null;
}

function parseHeaders(lines: string[]): Headers | null {
  const headers = new Headers();
  for (const line of lines) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return null;
    try {
      headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
    } catch {
      return null;
    }
  }
  return headers;
}

/** A head of `firstLine` and `headers`, ready to write. */
export function serializeHead(firstLine: string, headers: Headers | Record<string, string>): Uint8Array {
  const entries = headers instanceof Headers ? [...headers] : Object.entries(headers);
  const text = `${firstLine}\r\n${entries.map(([name, value]) => `${name}: ${value}\r\n`).join("")}\r\n`;
  return new TextEncoder().encode(text);
}

/** `response` as bytes for a connection that closes after it. */
export async function serializeResponse(response: Response): Promise<Uint8Array> {
  const body = new Uint8Array(await response.arrayBuffer());
  const headers = new Headers(response.headers);
  headers.set("content-length", String(body.byteLength));
  headers.set("connection", "close");
  const head = serializeHead(`HTTP/1.1 ${response.status} ${response.statusText || "Error"}`, headers);
  const out = new Uint8Array(head.byteLength + body.byteLength);
  out.set(head);
  out.set(body, head.byteLength);
  return out;
}
