// The one place provider keys are decrypted: for the node provider gateway that serves the user's
// container (src/gateway/agent_channel.ts), in answer to its signed request, never into a container.
// (The name predates the gateway, when keys went out with the spawn request.)
// test/secrets/decrypt_boundary.test.ts fails if any other module imports `open` from aead.ts.

import type { Provider } from "../../common/providers.ts";
import type { Db } from "../db/client.ts";
import { asUser } from "../db/rls.ts";
import { credentials } from "../db/schema.ts";
import { DecryptionError, open } from "./aead.ts";
import type { MasterKeyring } from "./master_keys.ts";

export async function decryptSecretsForSpawn(
  db: Db,
  keyring: MasterKeyring,
  userId: string,
): Promise<Partial<Record<Provider, string>>> {
  const rows = await asUser(db, userId, (tx) => tx.select().from(credentials));
  const out: Partial<Record<Provider, string>> = {};
  for (const row of rows) {
    const master = keyring.byId(row.keyId);
    if (!master) throw new DecryptionError();
    out[row.provider] = await open(
      master,
      {
        keyId: row.keyId,
        nonce: row.nonce as Uint8Array<ArrayBuffer>,
        ciphertext: row.ciphertext as Uint8Array<ArrayBuffer>,
      },
      { userId: row.userId, provider: row.provider, rowId: row.id },
    );
  }
  return out;
}
