// Hostile WebSocket upgrade requests against the session sockets, sent as raw HTTP so that any header
// byte can be chosen: malformed cookies (bad percent escapes, NULs, huge values), forged and truncated
// bearer tokens, odd Origin, Sec-WebSocket-Key and Upgrade values. Every answer is a JSON 4xx: never
// a 5xx, never Bun's debug page (which would show the stack, source and working directory).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DRIVERS } from "../helpers/db.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const COUNT = Number(process.env.FUZZ_UPGRADES ?? 150);

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One raw HTTP/1.1 exchange; resolves with the status line's code and the body text. */
async function rawRequest(port: number, head: string): Promise<{ status: number; text: string }> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no answer within 5 s")), 5000);
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(socket) {
          socket.write(head);
        },
        data(socket, data) {
          chunks.push(Buffer.from(data));
          const text = Buffer.concat(chunks).toString("latin1");
          const end = text.indexOf("\r\n\r\n");
          const length = /content-length:\s*(\d+)/i.exec(text)?.[1];
          if (end >= 0 && length !== undefined && text.length >= end + 4 + Number(length)) socket.end();
        },
        close() {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString("latin1");
          resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
        },
        error(_socket, error) {
          clearTimeout(timer);
          reject(error);
        },
      },
    }).catch(reject);
  });
}

const BAD_COOKIES = [
  "cf_access=%E0%A4%A",
  "cf_access=%",
  "cf_access=%ZZ%00",
  "cf_access=%uD800",
  "cf_access",
  "=; ;=;cf_access=%%%",
  `cf_access=${"%41".repeat(3000)}`,
  "cf_access=eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
  "cf_refresh=%C0%AF; cf_access=%C0%AF",
];

describe("WebSocket upgrade fuzzing", () => {
  for (const driver of DRIVERS) {
    describe(driver, () => {
      let server: TestServer;
      let port = 0;
      beforeAll(async () => {
        server = await startTestServer(driver);
        port = Number(new URL(server.url).port);
      });
      afterAll(async () => {
        await server?.close();
      });

      function upgradeHead(path: string, headers: string[]): string {
        return [
          `GET ${path} HTTP/1.1`,
          `Host: 127.0.0.1:${port}`,
          ...headers,
          "Connection: close",
          "",
          "",
        ].join("\r\n");
      }

      test("a malformed cookie on an upgrade is a 401 JSON answer, not a debug page", async () => {
        for (const cookie of BAD_COOKIES) {
          const { status, text } = await rawRequest(
            port,
            upgradeHead("/api/v1/session/terminal", [
              "Upgrade: websocket",
              "Connection: Upgrade",
              "Sec-WebSocket-Version: 13",
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
              `Origin: http://127.0.0.1:${port}`,
              `Cookie: ${cookie}`,
            ]).replace("Connection: close\r\n", ""),
          );
          expect({ cookie, status }).toEqual({ cookie, status: 401 });
          expect(text).toContain('"code":"unauthenticated"');
        }
      });

      test(`${COUNT} random hostile upgrades: only 4xx JSON answers`, async () => {
        const random = rng(SEED);
        const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)] as T;
        const junk = (n: number) =>
          Array.from({ length: Math.floor(random() * n) }, () =>
            String.fromCharCode(0x21 + Math.floor(random() * 94)),
          ).join("");
        const statuses = new Map<number, number>();
        for (let i = 0; i < COUNT; i++) {
          const headers = [
            pick([
              "Upgrade: websocket",
              "Upgrade: WebSocket",
              "Upgrade: websocket, h2c",
              `Upgrade: ${junk(20)}`,
            ]),
            "Connection: Upgrade",
            pick([
              "Sec-WebSocket-Version: 13",
              "Sec-WebSocket-Version: 8",
              `Sec-WebSocket-Version: ${junk(6)}`,
            ]),
            pick(["Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", `Sec-WebSocket-Key: ${junk(40)}`, ""]),
            pick([`Origin: http://127.0.0.1:${port}`, "Origin: null", `Origin: ${junk(60)}`, ""]),
            pick([
              `Cookie: ${pick(BAD_COOKIES)}`,
              `Cookie: cf_access=${junk(400)}`,
              `Authorization: Bearer ${junk(300)}`,
              `Authorization: Bearer eyJ${junk(80)}.${junk(80)}.${junk(43)}`,
              "Authorization: Bearer",
              "",
            ]),
          ].filter(Boolean);
          const path = pick(["/api/v1/session/gateway", "/api/v1/session/terminal"]);
          const { status, text } = await rawRequest(port, upgradeHead(path, headers));
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          expect({ i, status: status >= 400 && status < 500 }).toEqual({ i, status: true });
          expect(text).not.toContain("<html");
          expect(text).not.toContain(process.cwd());
        }
        expect([...statuses.keys()].length).toBeGreaterThan(0);
      });
    });
  }
});
