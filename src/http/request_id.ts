// Every request gets an id: sent back in X-Request-Id, put into JSON error bodies as
// error.request_id, and attached to the log lines about it, so a user's report can be found in logs.
export const REQUEST_ID_HEADER = "x-request-id";

export function newRequestId(): string {
  return crypto.randomUUID();
}

export function requestIdOf(request: Request): string | null {
  return request.headers.get(REQUEST_ID_HEADER);
}

/** Adds the id to a JSON `{error: {...}}` body; other responses only get the header. */
export async function withRequestId(response: Response, id: string): Promise<Response> {
  response.headers.set(REQUEST_ID_HEADER, id);
  if (response.status < 400 || !response.headers.get("content-type")?.includes("application/json"))
    return response;
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return new Response(text, response);
  }
  const error = (body as { error?: Record<string, unknown> }).error;
  if (error && typeof error === "object") error.request_id = id;
  return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
}
