// Bun.serve options every listener of ours uses: never Bun's development error page (it shows the
// stack, source lines and working directory to whoever provoked it), and a plain JSON 500 for any
// error a handler let escape, logged here with its stack instead.
import type { Logger } from "./log.ts";

export function noDebugPages(log: Logger, what: string) {
  return {
    development: false as const,
    error(error: Error): Response {
      log.error(`${what}: unhandled error in a request handler`, { error });
      return Response.json(
        { error: { code: "internal", message: "Something went wrong on our side." } },
        { status: 500 },
      );
    },
  };
}
