import { QueueFullError } from "../auth/work_queue.ts";
import { ApiError } from "./errors.ts";

/** Runs argon2 work through the bounded queue; a full queue is a 503 the client may retry. */
export async function passwordWorkGuard<T>(job: () => Promise<T>): Promise<T> {
  try {
    return await job();
  } catch (error) {
    if (error instanceof QueueFullError) {
      throw new ApiError(503, "busy", "Too many sign-ins at once. Try again in a moment.", {
        "retry-after": "1",
      });
    }
    throw error;
  }
}
