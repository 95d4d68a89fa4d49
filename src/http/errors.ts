// One error shape for the whole API: `{error: {code, message}}`. Bad input is always a 4xx; only a
// fault of ours is a 500, and its message never carries internals.
import { Elysia } from "elysia";
import type { Logger } from "../../common/log.ts";
import { isDatabaseUnavailable } from "../db/availability.ts";
import { UserError } from "../errors.ts";

/** A refusal raised by the HTTP layer itself (bad parameters, missing sign-in): a UserError. */
export class ApiError extends UserError {
  constructor(
    status: number,
    code: string,
    message: string,
    private readonly extraHeaders: Record<string, string> = {},
  ) {
    super(status, code, message);
  }

  override get headers(): Record<string, string> {
    return this.extraHeaders;
  }
}

export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

function jsonError(status: number, code: string, message: string, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(errorBody(code, message)), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

export function userErrorResponse(error: UserError): Response {
  return jsonError(error.status, error.code, error.message, error.headers);
}

/** Lets the console answer a browser's failed page navigation with HTML (src/http/pages/page_not_found.ts). */
export type HtmlErrorPage = (request: Request, status: number, message: string) => Promise<Response | null>;

export function errorHandler(log: Logger, htmlPage?: HtmlErrorPage) {
  return new Elysia({ name: "error-handler" }).onError({ as: "global" }, async (context) => {
    const response = jsonFailure(log, context);
    if (!htmlPage || response.status < 400) return response;
    const { message } = ((await response.clone().json()) as ReturnType<typeof errorBody>).error;
    return (await htmlPage(context.request, response.status, message)) ?? response;
  });
}

function jsonFailure(
  log: Logger,
  { code, error, request }: { code: unknown; error: unknown; request: Request },
) {
  if (error instanceof UserError) return userErrorResponse(error);
  switch (code) {
    case "VALIDATION":
      return jsonError(400, "invalid_request", "The request body or parameters are not valid.");
    case "PARSE":
      return jsonError(400, "invalid_body", "The request body could not be parsed.");
    case "NOT_FOUND":
      return jsonError(404, "not_found", "No such route.");
    case "INVALID_COOKIE_SIGNATURE":
      return jsonError(401, "invalid_cookie", "A cookie was tampered with.");
  }
  if (isDatabaseUnavailable(error)) {
    return jsonError(
      503,
      "database_unavailable",
      "The service is briefly unavailable. Try again in a moment.",
      {
        "retry-after": "5",
      },
    );
  }
  const status = (error as { status?: number }).status;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return jsonError(status, "bad_request", "The request could not be handled.");
  }
  log.error("unhandled error", {
    error,
    method: request.method,
    path: new URL(request.url).pathname,
    request_id: request.headers.get("x-request-id"),
  });
  return jsonError(500, "internal", "Something went wrong on our side.");
}
