// A small warm pool of formatted, never-keyed volume images. fallocate + mkfs.ext4 is the volume's
// one step that depends on nothing in the request but its size, so a few images of the size the last
// spawn asked for wait in <root>/pool/. Rules that keep it safe between tenants and the node's disk:
//   - an image is made fresh, never mounted nor keyed while it waits, handed out once (taken out of
//     the list synchronously) and renamed into the session's own name: it never held anyone's data;
//   - bounded: at most `size` images of one size wait, and only while the disk keeps twice their size
//     free beside them (images are preallocated); a size change drops the images of the old size;
//   - refilled one at a time after a spawn, not during one; deleted on agent shutdown, and whatever a
//     crashed agent left in pool/ is deleted when the next one starts (nothing there is anyone's).
import { mkdirSync, readdirSync, renameSync, rmSync, statfsSync } from "node:fs";
import { join } from "node:path";
import { createImage } from "./disk_image.ts";

export class ImagePool {
  private readonly dir: string;
  private ready: { path: string; sizeMb: number }[] = [];
  private filling: Promise<void> | null = null;
  private stopped = false;

  constructor(
    root: string,
    private readonly size: number,
    private readonly encrypt: boolean,
    private readonly log: { warn(msg: string, f?: Record<string, unknown>): void },
  ) {
    this.dir = join(root, "pool");
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Moves a waiting image of exactly `sizeMb` to `target` (same filesystem: a rename); false if none. */
  take(sizeMb: number, target: string): boolean {
    for (;;) {
      const index = this.ready.findIndex((image) => image.sizeMb === sizeMb);
      const [image] = index === -1 ? [] : this.ready.splice(index, 1);
      if (!image) return false;
      try {
        renameSync(image.path, target);
        return true;
      } catch {
        // Deleted behind the pool's back (an operator's cleanup): the next one, or a fresh image.
      }
    }
  }

  get waiting(): number {
    return this.ready.length;
  }

  /** Tops the pool up with images of `sizeMb` in the background; images of another size go. */
  refill(sizeMb: number): Promise<void> {
    if (this.stopped || this.size === 0) return Promise.resolve();
    this.filling ??= (async () => {
      for (const stale of this.ready.filter((image) => image.sizeMb !== sizeMb))
        rmSync(stale.path, { force: true });
      this.ready = this.ready.filter((image) => image.sizeMb === sizeMb);
      while (!this.stopped && this.ready.length < this.size && this.roomFor(sizeMb)) {
        const path = join(this.dir, `${crypto.randomUUID()}.img`);
        try {
          await createImage(`${path}.partial`, sizeMb, this.encrypt);
          renameSync(`${path}.partial`, path);
        } catch (error) {
          rmSync(`${path}.partial`, { force: true });
          throw error;
        }
        if (this.stopped) rmSync(path, { force: true });
        else this.ready.push({ path, sizeMb });
      }
    })()
      .catch((error: unknown) => this.log.warn("warm volume pool not refilled", { error }))
      .finally(() => {
        this.filling = null;
      });
    return this.filling;
  }

  /** Preallocated images take real disk: one more only while twice its size stays free beside it. */
  private roomFor(sizeMb: number): boolean {
    const fs = statfsSync(this.dir);
    return fs.bavail * fs.bsize >= 3 * sizeMb * 1024 * 1024;
  }

  /** Resolves once no refill runs. */
  async idle(): Promise<void> {
    await this.filling;
  }

  /** Shutdown: no more refills, and every waiting image is deleted. */
  async drain(): Promise<void> {
    this.stopped = true;
    await this.filling;
    this.ready = [];
    for (const name of readdirSync(this.dir)) rmSync(join(this.dir, name), { force: true });
  }
}
