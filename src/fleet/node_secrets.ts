// Each node's own signing secret (DESIGN.md, per-node credentials): minted by `clawfleet nodes add`,
// shown once to be set on the node (CLAWFLEET_NODE_SECRETS), kept here sealed under the master key
// with the AAD binding it to its node, and opened only to sign that node's requests (v2, bound to
// the node's name, which is its CLAWFLEET_NODE_ID). Root on one node then commands that node alone.
import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import { eq } from "drizzle-orm";
import type { ClusterKey } from "../../agent/api/contract.ts";
import type { Db } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";
import { nodes } from "../db/schema.ts";
import { type Binding, open, seal } from "../secrets/aead.ts";
import type { MasterKeyring } from "../secrets/master_keys.ts";
import type { NodeRow } from "./nodes.ts";

/** The key id the node's secret carries on both sides (`node:<secret>` in CLAWFLEET_NODE_SECRETS). */
export const NODE_SECRET_KEY_ID = "node";

const bindingFor = (nodeId: string): Binding => ({ userId: "node", provider: "node-secret", rowId: nodeId });

export type NodeSigning = { nodeId: string; key: ClusterKey };
type SealedColumns = {
  id: string;
  name: string;
  secretKeyId?: string | null;
  secretNonce?: Uint8Array | null;
  secretCiphertext?: Uint8Array | null;
};

/** A fresh 256-bit secret for the node, stored sealed; returns the line to set on the node. */
export async function mintNodeSecret(db: Db, keyring: MasterKeyring, node: Pick<NodeRow, "id" | "name">) {
  const secret = encodeBase64urlNoPadding(crypto.getRandomValues(new Uint8Array(32)));
  const sealed = await seal(keyring.newest, secret, bindingFor(node.id));
  await asSystem(db, (tx) =>
    tx
      .update(nodes)
      .set({ secretKeyId: sealed.keyId, secretNonce: sealed.nonce, secretCiphertext: sealed.ciphertext })
      .where(eq(nodes.id, node.id)),
  );
  return { env: `CLAWFLEET_NODE_ID=${node.name}\nCLAWFLEET_NODE_SECRETS=${NODE_SECRET_KEY_ID}:${secret}` };
}

/** How to sign for this node: its own secret (v2) when it has one, else null (cluster secret, v1). */
export async function nodeSigning(keyring: MasterKeyring, node: SealedColumns): Promise<NodeSigning | null> {
  if (!node.secretKeyId || !node.secretNonce || !node.secretCiphertext) return null;
  const master = keyring.byId(node.secretKeyId);
  if (!master) throw new Error(`node ${node.name}: its secret is sealed under an unknown master key`);
  const secret = await open(
    master,
    {
      keyId: node.secretKeyId,
      nonce: new Uint8Array(node.secretNonce),
      ciphertext: new Uint8Array(node.secretCiphertext),
    },
    bindingFor(node.id),
  );
  return { nodeId: node.name, key: { id: NODE_SECRET_KEY_ID, secret: new TextEncoder().encode(secret) } };
}
