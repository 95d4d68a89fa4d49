import { AuthError } from "../auth/auth_error.ts";
import { ApiError } from "./errors.ts";

/** Runs an account service; its refusals become the API's JSON errors (with Retry-After when given). */
export async function viaAuthService<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof AuthError) {
      const headers: Record<string, string> =
        error.retryAfterSeconds !== null ? { "retry-after": String(error.retryAfterSeconds) } : {};
      throw new ApiError(error.status, error.code, error.message, headers);
    }
    throw error;
  }
}
