// The http_fetch tool: GET (or HEAD) a public http(s) URL and return its status, type and the start of
// its body. Every hop of a redirect is checked again, and the answer is read only up to the cap.
// A name is resolved first and refused if any of its addresses is not public (see public_address.ts);
// the fetch then resolves it again, so a name that changes its answer in between could slip through:
// the agent's firewall, which drops non-public egress for the whole container, stays the real wall.
import { dns } from "bun";
import type { Cidr } from "../../common/ip.ts";
import { ToolInputError } from "./files.ts";
import { isPublicAddress, parseIp } from "./public_address.ts";

export const FETCH_CAP = 256 * 1024;
const FETCH_TIMEOUT_MS = 20_000;
const MAX_REDIRECTS = 5;

export type FetchResult = {
  url: string;
  status: number;
  contentType: string | null;
  body: string;
  truncated: boolean;
};

async function checkDestination(url: URL, allow: Cidr[]): Promise<void> {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ToolInputError("only http: and https: URLs can be fetched");
  }
  if (url.username || url.password) throw new ToolInputError("URLs with credentials are refused");
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const literal = parseIp(host);
  let addresses: string[];
  if (literal) {
    addresses = [host];
  } else {
    try {
      addresses = (await dns.lookup(host)).map((entry) => entry.address);
    } catch {
      throw new ToolInputError(`${host}: the name does not resolve`);
    }
  }
  for (const address of addresses) {
    const ip = parseIp(address);
    if (!ip || !isPublicAddress(ip, allow)) {
      throw new ToolInputError(`${host}: not a public address; only the public internet can be fetched`);
    }
  }
}

export async function fetchPublic(
  rawUrl: string,
  options: { method?: string; allow: Cidr[]; signal: AbortSignal },
): Promise<FetchResult> {
  if (typeof rawUrl !== "string" || rawUrl.length > 4096) throw new ToolInputError("url must be a string");
  const method = (options.method ?? "GET").toUpperCase();
  if (method !== "GET" && method !== "HEAD") throw new ToolInputError("method must be GET or HEAD");
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new ToolInputError("url is not a valid URL");
  }
  const signal = AbortSignal.any([options.signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)]);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    await checkDestination(url, options.allow);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        redirect: "manual",
        signal,
        headers: { "user-agent": "clawfleet-runtime", accept: "*/*" },
      });
    } catch {
      if (options.signal.aborted) throw new ToolInputError("the fetch was cancelled");
      throw new ToolInputError(`${url.host}: could not connect or timed out`);
    }
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      url = new URL(location, url);
      continue;
    }
    const { text, truncated } = await readCapped(response);
    return {
      url: url.toString(),
      status: response.status,
      contentType: response.headers.get("content-type"),
      body: text,
      truncated,
    };
  }
  throw new ToolInputError(`more than ${MAX_REDIRECTS} redirects`);
}

async function readCapped(response: Response): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: "", truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = FETCH_CAP - size;
    chunks.push(value.subarray(0, room));
    size += Math.min(room, value.length);
    if (value.length >= room) {
      truncated = value.length > room;
      await reader.cancel();
      break;
    }
  }
  return { text: new TextDecoder().decode(Buffer.concat(chunks)), truncated };
}
