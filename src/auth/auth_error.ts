// What the account services (signup, login, password, sessions, deletion) refuse with. The API turns
// it into its JSON error and the console into a friendly message; neither has to know the rules.
import { UserError } from "../errors.ts";
import { QueueFullError } from "./work_queue.ts";

/** Kept as a name for the account services' refusals; it is a UserError like every other. */
export class AuthError extends UserError {}

/** The client's side of a request that the services record (login throttle, audit, session list). */
export type ClientMeta = { ip: string; userAgent: string | null };

/** Runs argon2 work through the bounded queue; a full queue is a 503 the client may retry. */
export async function passwordWorkGuard<T>(job: () => Promise<T>): Promise<T> {
  try {
    return await job();
  } catch (error) {
    if (error instanceof QueueFullError) {
      throw new AuthError(503, "busy", "Too many sign-ins at once. Try again in a moment.", 1);
    }
    throw error;
  }
}
