// While `serve` runs, the administration commands reach it through a unix socket in the data dir
// (`admin.sock`, mode 0600: only the account that runs the server may connect). The embedded
// database can be open in one process only, so a second process could not run them otherwise.
// One request per connection: a JSON line {command, args, stdin}, answered with {code, output}
// (code 0, or 64 for a refusal of the input, 1 for a fault) and closed.
import { existsSync, mkdirSync, unlinkSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import type { Logger } from "../../common/log.ts";
import type { ServerConfig } from "../config.ts";
import type { Db } from "../db/client.ts";
import { UserError } from "../errors.ts";
import type { LiveLimitsApplier } from "../sessions/live_limits.ts";
import { UsageError } from "./args.ts";
import { FORWARDABLE, runCommand } from "./commands.ts";
import { useServingDatabase } from "./database.ts";

export const ADMIN_SOCKET = "admin.sock";
const MAX_REQUEST = 1 << 20;
const ANSWER_TIMEOUT_MS = 120_000;

type Request = { command: string; args: string[]; stdin: string };
export type Answer = { code: number; output: string };

export function adminSocketPath(config: ServerConfig): string {
  return join(config.dataDir, ADMIN_SOCKET);
}

async function answer(config: ServerConfig, request: Request): Promise<Answer> {
  if (!FORWARDABLE.has(request.command)) {
    return { code: 64, output: `${request.command} cannot run while the server runs; stop it first` };
  }
  try {
    const output = await runCommand(config, request.command, request.args, async () => request.stdin);
    return { code: 0, output };
  } catch (error) {
    if (error instanceof UsageError || (error instanceof UserError && error.status < 500)) {
      return { code: 64, output: error.message };
    }
    return { code: 1, output: error instanceof Error ? error.message : String(error) };
  }
}

function parseRequest(text: string): Request | null {
  try {
    const value = JSON.parse(text) as Partial<Request>;
    if (typeof value.command !== "string" || !Array.isArray(value.args) || typeof value.stdin !== "string") {
      return null;
    }
    if (!value.args.every((arg) => typeof arg === "string")) return null;
    return { command: value.command, args: value.args, stdin: value.stdin };
  } catch {
    return null;
  }
}

/** Listens until `stop()`; a socket left by a crashed server is replaced, a live one is left alone. */
export async function startAdminSocket(
  config: ServerConfig,
  db: Db,
  log: Logger,
  /** The server's way to apply a plan change to a running container (`users plan`). */
  liveLimits: LiveLimitsApplier | null = null,
) {
  const path = adminSocketPath(config);
  if (existsSync(path)) {
    if (await socketAnswers(path)) {
      log.warn("another clawfleet server answers on the admin socket; not listening", { path });
      return { path, stop() {} };
    }
    unlinkSync(path);
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const buffers = new WeakMap<object, string>();
  // The socket is created with the process umask: 0177 makes it 0600 from its first moment.
  const previous = process.umask(0o177);
  let listener: ReturnType<typeof Bun.listen>;
  try {
    listener = Bun.listen({
      unix: path,
      socket: {
        data(socket, chunk) {
          const text = (buffers.get(socket) ?? "") + chunk.toString();
          if (text.length > MAX_REQUEST) {
            socket.end(`${JSON.stringify({ code: 64, output: "request too large" })}\n`);
            return;
          }
          const newline = text.indexOf("\n");
          if (newline < 0) {
            buffers.set(socket, text);
            return;
          }
          const request = parseRequest(text.slice(0, newline));
          if (!request) {
            socket.end(`${JSON.stringify({ code: 64, output: "malformed request" })}\n`);
            return;
          }
          log.info("admin command", { command: request.command, via: "socket" });
          void answer(config, request).then((result) => socket.end(`${JSON.stringify(result)}\n`));
        },
      },
    });
  } catch (error) {
    // The server works without it; only the commands would need it stopped.
    log.warn("admin socket unavailable; stop the server to run administration commands", { path, error });
    return { path, stop() {} };
  } finally {
    process.umask(previous);
  }
  useServingDatabase(db, liveLimits);
  return {
    path,
    stop() {
      listener.stop(true);
      useServingDatabase(null);
      if (existsSync(path)) unlinkSync(path);
    },
  };
}

async function socketAnswers(path: string): Promise<boolean> {
  try {
    const socket = await Bun.connect({ unix: path, socket: { data() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}

/**
 * Sends the command to a running server, or returns null when none answers (then the command runs
 * here). Relative paths in flags are resolved here, where the user typed them.
 */
export async function forwardToServer(
  config: ServerConfig,
  command: string,
  args: string[],
  readStdin: () => Promise<string>,
): Promise<Answer | null> {
  const path = adminSocketPath(config);
  if (!FORWARDABLE.has(command) || !existsSync(path)) return null;
  const absolute = args.map((arg, i) =>
    (args[i - 1] === "--out" || args[i - 1] === "--in") && !isAbsolute(arg) ? resolve(arg) : arg,
  );
  if (command === "backup" && !args.includes("--out")) {
    absolute.push("--out", resolve(`clawfleet-backup-${new Date().toISOString().slice(0, 10)}.cfb`));
  }
  const stdin = command === "admin" ? await readStdin() : "";
  let received = "";
  let settle: (value: Answer | null) => void = () => {};
  const done = new Promise<Answer | null>((resolveDone) => {
    settle = resolveDone;
  });
  const finish = () => {
    const line = received.split("\n")[0] ?? "";
    try {
      settle(JSON.parse(line) as Answer);
    } catch {
      settle({ code: 1, output: "the server closed the admin socket without an answer" });
    }
  };
  try {
    const socket = await Bun.connect({
      unix: path,
      socket: {
        data(_socket, chunk) {
          received += chunk.toString();
        },
        close: finish,
        error: finish,
      },
    });
    socket.write(`${JSON.stringify({ command, args: absolute, stdin })}\n`);
  } catch {
    return null; // A socket file with nobody behind it: the server is not running.
  }
  const timer = setTimeout(
    () => settle({ code: 1, output: "the server did not answer on its admin socket" }),
    ANSWER_TIMEOUT_MS,
  );
  try {
    return await done;
  } finally {
    clearTimeout(timer);
  }
}
