// Opens a provider's streaming endpoint and yields its server-sent events, turning every failure on
// the way (refused connection, HTTP error, silence, a body that is not an event stream) into a
// ProviderError with a message for the user.
import { httpError, networkError, ProviderError } from "./errors.ts";
import { readSse, type SseEvent, SseLineTooLongError } from "./sse.ts";

export type StreamTarget = {
  label: string;
  baseUrl: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  idleTimeoutMs: number;
  signal: AbortSignal;
};

/** Error bodies are small; more than this is not worth reading. */
const MAX_ERROR_BODY = 64 * 1024;

export async function* streamSse(target: StreamTarget): AsyncGenerator<SseEvent> {
  const controller = new AbortController();
  let timedOut = false;
  let timer: Timer | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, target.idleTimeoutMs);
  };
  const onCancel = () => controller.abort();
  target.signal.addEventListener("abort", onCancel, { once: true });
  const failure = (error: unknown, phase: "connect" | "stream"): ProviderError => {
    if (error instanceof ProviderError) return error;
    if (target.signal.aborted) return new ProviderError("cancelled", "The reply was cancelled.");
    if (timedOut) {
      return new ProviderError(
        "timeout",
        `${target.label} did not answer within ${Math.round(target.idleTimeoutMs / 1000)} s. Try again shortly.`,
      );
    }
    if (error instanceof SseLineTooLongError) {
      return new ProviderError(
        "malformed_stream",
        `${target.label} sent a malformed stream; the reply was cut off.`,
      );
    }
    if (phase === "connect") return networkError(target.label, target.baseUrl, error);
    return new ProviderError(
      "incomplete_stream",
      `The connection to ${target.label} broke off in the middle of the reply; the reply was cut off.`,
    );
  };

  arm();
  let response: Response;
  try {
    response = await fetch(target.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", ...target.headers },
      body: JSON.stringify(target.body),
      signal: controller.signal,
    });
  } catch (error) {
    clearTimeout(timer);
    target.signal.removeEventListener("abort", onCancel);
    throw failure(error, "connect");
  }

  try {
    if (!response.ok) {
      const text = await readLimited(response, MAX_ERROR_BODY);
      throw httpError(target.label, response.status, text, response.headers.get("retry-after"));
    }
    const type = response.headers.get("content-type") ?? "";
    if (!type.includes("text/event-stream") || !response.body) {
      await response.body?.cancel();
      throw new ProviderError(
        "malformed_stream",
        `${target.label} answered with ${type.split(";")[0] || "no content type"} instead of an event stream.`,
      );
    }
    arm();
    for await (const event of readSse(tapChunks(response.body, arm))) yield event;
  } catch (error) {
    throw failure(error, "stream");
  } finally {
    clearTimeout(timer);
    target.signal.removeEventListener("abort", onCancel);
    // Stops the transfer if the consumer left early (cancel, error in a later stage).
    controller.abort();
  }
}

/** Re-arms the idle timer on every chunk, so only silence counts, not a long answer. */
function tapChunks(body: ReadableStream<Uint8Array>, onChunk: () => void): ReadableStream<Uint8Array> {
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, out) {
        onChunk();
        out.enqueue(chunk);
      },
    }),
  );
}

async function readLimited(response: Response, limit: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // A body cut off mid-way still has a status worth reporting.
  } finally {
    await reader.cancel().catch(() => {});
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, limit));
}
