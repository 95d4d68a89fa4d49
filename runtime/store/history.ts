// Conversations and their messages. A conversation belongs to one channel ("gateway", or
// "telegram" for a Telegram chat); its title is the start of its first message.
import type { Database } from "bun:sqlite";

export type Conversation = {
  id: string;
  title: string;
  channel: string;
  created_at: number;
  updated_at: number;
  message_count: number;
};

export type StoredMessage = {
  id: number;
  conversation_id: string;
  role: "user" | "assistant";
  content: string;
  provider: string | null;
  model: string | null;
  created_at: number;
};

export const CONVERSATION_ID = /^[A-Za-z0-9_:.-]{1,80}$/;

export class History {
  constructor(private readonly db: Database) {}

  ensureConversation(id: string, channel: string, firstText: string): Conversation {
    const now = Date.now();
    const title = firstText.replace(/\s+/g, " ").trim().slice(0, 80) || "(untitled)";
    this.db
      .query(
        `INSERT INTO conversations (id, title, channel, created_at, updated_at) VALUES ($id, $title, $channel, $now, $now)
         ON CONFLICT (id) DO NOTHING`,
      )
      .run({ id, title, channel, now });
    return this.getConversation(id) as Conversation;
  }

  getConversation(id: string): Conversation | null {
    return (
      (this.db
        .query(
          `SELECT c.*, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count
           FROM conversations c WHERE c.id = $id`,
        )
        .get({ id }) as Conversation | null) ?? null
    );
  }

  listConversations(limit = 50): Conversation[] {
    return this.db
      .query(
        `SELECT c.*, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count
         FROM conversations c ORDER BY c.updated_at DESC, c.rowid DESC LIMIT $limit`,
      )
      .all({ limit }) as Conversation[];
  }

  addMessage(
    conversationId: string,
    role: "user" | "assistant",
    content: string,
    meta: { provider?: string; model?: string } = {},
  ): StoredMessage {
    const now = Date.now();
    const message = this.db
      .query(
        `INSERT INTO messages (conversation_id, role, content, provider, model, created_at)
         VALUES ($conversationId, $role, $content, $provider, $model, $now) RETURNING *`,
      )
      .get({
        conversationId,
        role,
        content,
        provider: meta.provider ?? null,
        model: meta.model ?? null,
        now,
      }) as StoredMessage;
    this.db
      .query("UPDATE conversations SET updated_at = $now WHERE id = $id")
      .run({ now, id: conversationId });
    return message;
  }

  /** The newest `limit` messages, oldest first; `beforeId` pages further back. */
  messages(conversationId: string, limit = 100, beforeId?: number): StoredMessage[] {
    const rows = this.db
      .query(
        `SELECT * FROM messages WHERE conversation_id = $conversationId AND id < $before
         ORDER BY id DESC LIMIT $limit`,
      )
      .all({ conversationId, before: beforeId ?? Number.MAX_SAFE_INTEGER, limit }) as StoredMessage[];
    return rows.reverse();
  }

  deleteConversation(id: string): boolean {
    return this.db.query("DELETE FROM conversations WHERE id = $id").run({ id }).changes > 0;
  }
}
