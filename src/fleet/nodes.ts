// The node registry: which agents exist, where, with which pinned certificate, and their last health.

import { asc, eq, sql } from "drizzle-orm";
import { type Actor, audit } from "../audit.ts";
import type { Db } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";
import { agentSessions, type NodeState, nodes } from "../db/schema.ts";
import { UserError } from "../errors.ts";
import type { AgentHealth } from "./agent_port.ts";

export type NodeRow = typeof nodes.$inferSelect;

export class NodeInputError extends UserError {
  constructor(message: string) {
    super(400, "invalid_node", message);
  }
}

const FINGERPRINT = /^(sha256:)?([0-9a-f]{2}:?){31}[0-9a-f]{2}$/i;

export function normaliseFingerprint(raw: string): string {
  const hex = raw
    .trim()
    .toLowerCase()
    .replace(/^sha256:/, "")
    .replaceAll(":", "");
  if (!FINGERPRINT.test(raw.trim()) || hex.length !== 64) {
    throw new NodeInputError(
      "fingerprint must be the agent's SHA-256 certificate fingerprint (64 hex digits)",
    );
  }
  return hex;
}

export function validateNodeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new NodeInputError("url must be the agent's https:// address");
  }
  if (url.protocol !== "https:" || url.pathname.replace(/\/$/, "") !== "" || url.search || url.username) {
    throw new NodeInputError("url must be the agent's https:// address with no path, query or credentials");
  }
  return url.origin;
}

export async function addNode(
  db: Db,
  input: { name: string; url: string; fingerprint: string },
  actor: Actor = {},
): Promise<NodeRow> {
  if (!/^[a-z0-9][a-z0-9.-]{0,62}$/i.test(input.name)) {
    throw new NodeInputError("name must be 1-63 letters, digits, dots or dashes");
  }
  const values = {
    name: input.name,
    url: validateNodeUrl(input.url),
    fingerprint: normaliseFingerprint(input.fingerprint),
  };
  const [row] = await asSystem(db, (tx) =>
    tx.insert(nodes).values(values).onConflictDoNothing({ target: nodes.name }).returning(),
  );
  if (!row) throw new NodeInputError(`a node named ${input.name} already exists`);
  await auditNode(db, "admin.node_added", row.id, actor, { name: row.name });
  return row;
}

export function listNodes(db: Db): Promise<NodeRow[]> {
  return asSystem(db, (tx) => tx.select().from(nodes).orderBy(asc(nodes.name)));
}

export async function getNode(db: Db, id: string): Promise<NodeRow | null> {
  const [row] = await asSystem(db, (tx) => tx.select().from(nodes).where(eq(nodes.id, id)));
  return row ?? null;
}

export async function findNode(db: Db, idOrName: string): Promise<NodeRow | null> {
  const rows = await listNodes(db);
  return rows.find((n) => n.id === idOrName || n.name === idOrName) ?? null;
}

export async function setNodeState(db: Db, id: string, state: NodeState, actor: Actor = {}) {
  await asSystem(db, (tx) => tx.update(nodes).set({ state }).where(eq(nodes.id, id)));
  if (state !== "unreachable")
    await auditNode(db, state === "draining" ? "admin.node_drain" : "admin.node_activate", id, actor);
}

function auditNode(db: Db, action: string, id: string, actor: Actor, detail: Record<string, unknown> = {}) {
  return audit(db, {
    action,
    actorId: actor.userId ?? null,
    target: id,
    ip: actor.ip ?? null,
    detail: { ...detail, ...(actor.via ? { via: actor.via } : {}) },
  });
}

/** A node can be removed once nothing runs on it (drain it and let users' containers go first). */
export async function removeNode(db: Db, id: string, force = false, actor: Actor = {}): Promise<void> {
  await asSystem(db, async (tx) => {
    const [busy] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(agentSessions)
      .where(sql`${agentSessions.nodeId} = ${id} and ${agentSessions.state} <> 'none'`);
    if ((busy?.n ?? 0) > 0 && !force) {
      throw new NodeInputError(`the node still hosts ${busy?.n} container(s): drain it and wait, or force`);
    }
    await tx.delete(nodes).where(eq(nodes.id, id));
  });
  await auditNode(db, "admin.node_removed", id, actor);
}

export async function recordHealth(db: Db, id: string, health: AgentHealth | null, error?: string) {
  await asSystem(db, (tx) =>
    tx
      .update(nodes)
      .set(
        health
          ? {
              lastHealth: health,
              capacity: health.capacity,
              lastSeenAt: new Date(),
              state: sql`case when ${nodes.state} = 'unreachable' then 'active' else ${nodes.state} end`,
            }
          : {
              lastHealth: { error: error ?? "unreachable" },
              state: sql`case when ${nodes.state} = 'draining' then 'draining' else 'unreachable' end`,
            },
      )
      .where(eq(nodes.id, id)),
  );
}
