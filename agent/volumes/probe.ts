// The start-up check behind "the agent refuses to start on a host without filesystem encryption":
// not a feature flag read, but a real round trip: make a small encrypted volume, write through it,
// and confirm the plaintext is not in the image, then throw it away.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hostSupportsEncryption } from "./disk_image.ts";
import { VOLUME_KEY_BYTES, VolumeManager } from "./volumes.ts";

export async function probeEncryptedVolumes(root: string): Promise<string | null> {
  if (!hostSupportsEncryption()) return "the kernel's ext4 has no encryption feature";
  const volumes = new VolumeManager(join(root, "probe"), true);
  const id = `probe-${crypto.randomUUID()}`;
  const marker = `clawfleet-probe-${crypto.randomUUID()}`;
  try {
    const data = await volumes.ensure(id, {
      sizeMb: 16,
      key: crypto.getRandomValues(new Uint8Array(VOLUME_KEY_BYTES)),
      owner: { uid: 0, gid: 0, mode: 0o700 },
    });
    writeFileSync(join(data, "probe"), marker);
    await volumes.detach(id);
    if (readFileSync(volumes.imagePath(id)).includes(marker))
      return "a file written through fscrypt appeared in plaintext in the image";
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await volumes.destroy(id).catch(() => {});
    rmSync(join(root, "probe"), { recursive: true, force: true });
  }
}
