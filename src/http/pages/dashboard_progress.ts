// GET /dashboard/progress: a spawn's steps as server-sent events (htmx 4's hx-sse extension swaps
// each message into #spawn-progress). The spawn may run on another replica, so the stream reads the
// session row, the one place every replica writes the timeline to: a short poll of the database,
// sending when something changed and once a second while a step runs (its time counts up). Its last
// message is the card of the state the spawn ended in, out of band, which replaces the streamed card
// and so ends the stream on the page; then the server closes it.

import { SpawnSteps } from "../../../views/components/spawn_progress.tsx";
import { render } from "../../../views/render.ts";
import type { AppContext } from "../../context.ts";
import { sessionView } from "../session.ts";
import type { SignedInUser } from "./page_response.ts";

/** How often the row is read: well under a step's usual length, light on the database. */
const POLL_MS = 200;
/** A running step's time is re-sent this often, so it counts up on the page. */
const TICK_MS = 1000;
/** A stream ends after this long whatever happens; htmx reconnects (passing through sign-in again). */
const MAX_STREAM_MS = 120_000;

/** One SSE message: every line of the HTML a `data:` line. */
export function sseMessage(html: string): string {
  return `${html
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}`)
    .join("\n")}\n\n`;
}

export function progressStream(
  ctx: AppContext,
  user: SignedInUser,
  finalCard: () => Promise<string>,
  signal: AbortSignal,
): Response {
  const encoder = new TextEncoder();
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    cancel() {
      cancelled = true;
    },
    async start(controller) {
      const send = (text: string) => controller.enqueue(encoder.encode(text));
      const started = Date.now();
      let lastSignature = "";
      let lastSent = 0;
      try {
        // A comment first: the response starts at once, and the browser knows the stream is open.
        send(": progress\n\n");
        while (!signal.aborted && !cancelled && Date.now() - started < MAX_STREAM_MS) {
          const view = await sessionView(ctx, user.id);
          if (view.state !== "spawning") {
            send(sseMessage(await finalCard()));
            break;
          }
          const signature = JSON.stringify(view.steps);
          const running = view.steps.some((s) => s.outcome === "running");
          if (signature !== lastSignature || (running && Date.now() - lastSent >= TICK_MS)) {
            send(sseMessage(render(SpawnSteps({ steps: view.steps }))));
            lastSignature = signature;
            lastSent = Date.now();
          } else if (Date.now() - lastSent >= 5_000) {
            // Keeps idle proxies (and Bun's idle timeout) from cutting a quiet stream.
            send(": still starting\n\n");
            lastSent = Date.now();
          }
          await Bun.sleep(POLL_MS);
        }
      } catch (error) {
        if (!signal.aborted && !cancelled)
          ctx.log.warn("spawn progress stream ended early", { user: user.id, error });
      } finally {
        try {
          controller.close();
        } catch {
          // Already closed by the client going away.
        }
      }
    },
  });
  return new Response(stream, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}
