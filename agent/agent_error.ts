// An error the agent answers with: its HTTP status and one of the contract's error codes.
import type { AgentErrorCode } from "./api/route_table.ts";

export class AgentError extends Error {
  constructor(
    readonly status: number,
    readonly code: AgentErrorCode,
    message: string,
  ) {
    super(message);
  }
}
