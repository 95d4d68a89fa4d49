// A record of each tool call in a conversation (what was asked, what came back), so a reopened
// conversation shows them. The model's context holds only the text turns; the exchange of one turn
// lives in memory while that turn runs.
import type { Database } from "bun:sqlite";

export type StoredToolCall = {
  id: number;
  conversation_id: string;
  /** The user message of the turn that made the call. */
  after_message_id: number;
  call_id: string;
  name: string;
  input: string;
  output: string;
  status: "ok" | "error" | "denied";
  created_at: number;
};

export class ToolCalls {
  constructor(private readonly db: Database) {}

  add(call: Omit<StoredToolCall, "id" | "created_at">): void {
    this.db
      .query(
        `INSERT INTO tool_calls (conversation_id, after_message_id, call_id, name, input, output, status, created_at)
         VALUES ($conversation_id, $after_message_id, $call_id, $name, $input, $output, $status, $now)`,
      )
      .run({ ...call, now: Date.now() });
  }

  forConversation(conversationId: string, fromMessageId: number, toMessageId: number): StoredToolCall[] {
    return this.db
      .query(
        `SELECT * FROM tool_calls WHERE conversation_id = $conversationId
         AND after_message_id BETWEEN $from AND $to ORDER BY id LIMIT 1000`,
      )
      .all({ conversationId, from: fromMessageId, to: toMessageId }) as StoredToolCall[];
  }
}
