// The runtime image of this checkout under a tag of its own. `clawfleet-runtime:<version>` is shared
// by every checkout building on this engine and may be replaced by another's build mid-test; a tag
// named after the content hash cannot be.
import { buildRuntimeImage, imageHash, RUNTIME_IMAGE } from "../../scripts/image_runtime.ts";

export async function pinnedRuntimeImage(): Promise<string> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const { hash } = await buildRuntimeImage();
    const tag = `clawfleet-runtime:pin-${hash.slice(0, 12)}`;
    Bun.spawnSync(["docker", "tag", RUNTIME_IMAGE, tag]);
    if (imageHash(tag) === hash) return tag;
  }
  throw new Error("the runtime image kept changing under this test");
}
