// Starting and waiting on real processes in tests.
import { createServer } from "node:net";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Polls `url` until it answers 2xx, or throws after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs = 20_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { tls: { rejectUnauthorized: false } });
      if (response.ok) return response;
      last = `status ${response.status}`;
    } catch (error) {
      last = error;
    }
    await Bun.sleep(100);
  }
  throw new Error(`${url} did not become ready: ${String(last)}`);
}

export function tempDir(prefix: string): string {
  const dir = `${require("node:os").tmpdir()}/${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  require("node:fs").mkdirSync(dir, { recursive: true });
  return dir;
}
