// What the channel fakes share: each keeps its state behind `/_fake/*` HTTP endpoints, so a test
// drives it the same way whether it runs in the test process or in a network namespace (as its own
// process, `bun test/fakes/<name>.ts --host H --port P`, printing `READY <url>`, ending with stdin).

export type Control = <T = unknown>(method: string, path: string, body?: unknown) => Promise<T>;

export function controlOf(url: string, name: string): Control {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}/_fake/${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`fake ${name}: ${method} ${path} answered ${response.status}`);
    return (await response.json()) as T;
  };
}

/** Polls `read` until it holds `count` items (bounded by `timeoutMs`). */
export async function waitForCount<T>(
  what: string,
  read: () => Promise<T[]>,
  count: number,
  timeoutMs = 15_000,
): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const items = await read();
    if (items.length >= count) return items;
    if (Date.now() > deadline) {
      throw new Error(
        `${what}: expected ${count}, got ${items.length}: ${JSON.stringify(items).slice(0, 500)}`,
      );
    }
    await Bun.sleep(50);
  }
}

/** A delivery the fake made to the webhook URL, as the platform would, and what it got back. */
export type Delivery = { status: number; body: string };

export async function deliver(url: string, init: RequestInit): Promise<Delivery> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { status: 0, body: error instanceof Error ? error.message : String(error) };
  }
}

export async function hmacHex(secret: string, message: string): Promise<string> {
  return new Bun.CryptoHasher("sha256", secret).update(message).digest("hex");
}

/** The process mode shared by the fakes. */
export async function runAsProcess(
  start: (host: string, port: number) => { url: string; stop(): Promise<void> },
) {
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({ options: { host: { type: "string" }, port: { type: "string" } } });
  const fake = start(values.host ?? "127.0.0.1", Number(values.port ?? 0));
  process.stdout.write(`READY ${fake.url}\n`);
  for await (const _ of Bun.stdin.stream()) {
    // Input is ignored; only its end matters.
  }
  await fake.stop();
  process.exit(0);
}
