// The assistant's memory: one text document the user edits (through the gateway) and every chat
// sees as part of its system prompt.
import type { Database } from "bun:sqlite";

export const MAX_MEMORY_CHARS = 32_000;

export type MemoryDocument = { content: string; updated_at: number | null };

export class Memory {
  constructor(private readonly db: Database) {}

  get(): MemoryDocument {
    const row = this.db
      .query("SELECT content, updated_at FROM memory WHERE id = 1")
      .get() as MemoryDocument | null;
    return row ?? { content: "", updated_at: null };
  }

  set(content: string): MemoryDocument {
    if (content.length > MAX_MEMORY_CHARS)
      throw new RangeError(`memory is limited to ${MAX_MEMORY_CHARS} characters`);
    const now = Date.now();
    this.db
      .query(
        `INSERT INTO memory (id, content, updated_at) VALUES (1, $content, $now)
         ON CONFLICT (id) DO UPDATE SET content = excluded.content, updated_at = excluded.updated_at`,
      )
      .run({ content, now });
    return { content, updated_at: now };
  }
}
