// The one user-facing error type. A service refuses with a UserError (status, stable code, a message
// written for the person who asked); the API turns it into `{error: {code, message}}` and the console
// into a message on the page, each in one place (src/http/errors.ts, src/http/pages/page_response.ts).
// Anything that is not a UserError is our fault: logged, and shown only as a generic 500.
export class UserError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }

  get headers(): Record<string, string> {
    return this.retryAfterSeconds !== null ? { "retry-after": String(this.retryAfterSeconds) } : {};
  }
}
