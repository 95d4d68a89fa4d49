// Each container's data: its own ext4 image `<session id>.img`, on a loop device, sized to the plan's
// disk, its data directory encrypted with fscrypt (v2, AES-256-XTS) under the session's key. The key
// comes from the server with each spawn or restore and is kept only in the filesystem's keyring in
// the kernel; the agent never writes it anywhere. What lives here:
//   <root>/<session id>.img           the image (preallocated)
//   <root>/mnt/<session id>/          its mount point, present only while mounted
//   <root>/mnt/<session id>/data/     the encrypted directory bind-mounted into the container
// A missing mount (node reboot) is re-attached by the next ensure(); Docker refuses a bind mount whose
// source is missing, so a container can never start on the bare mount point.
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statfsSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { SESSION_ID } from "../api/contract.ts";
import type { AgentErrorCode } from "../api/route_table.ts";
import { NO_SPANS, type SpawnSpans } from "../spawn/spans.ts";
import {
  attachLoop,
  createImage,
  DiskImageError,
  detachLoop,
  detachLoops,
  filesystemBytes,
  growMounted,
  growUnmounted,
  isMounted,
  loopFor,
  mount,
  mountedDevice,
  unmount,
} from "./disk_image.ts";
import { addKey, getPolicy, type KeyIdentifier, keyStatus, removeKey, setPolicy } from "./fscrypt.ts";
import { ImagePool } from "./image_pool.ts";

export const VOLUME_KEY_BYTES = 32;

export class VolumeError extends Error {
  constructor(
    readonly status: number,
    readonly code: AgentErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Who owns the data directory on the host (the template's user as userns-remap maps it). */
export type VolumeOwner = { uid: number; gid: number; mode: number };

/** `sizeMb: null`: use the volume as it is (a restore); a missing image is then an error. */
export type EnsureRequest = {
  sizeMb: number | null;
  key: Uint8Array | null;
  owner: VolumeOwner;
  /** Timing of each step, for the spawn profile. */
  spans?: Pick<SpawnSpans, "time">;
};

/**
 * A template's user (`uid[:gid]` or a name) as the host sees it under userns-remap (`idOffset`: the
 * host ids of container root). A named user's uid is unknown here: its directory is 0777 (only this
 * container ever sees it).
 */
export function volumeOwner(user: string, idOffset: { uid: number; gid: number }): VolumeOwner {
  const [uid = "", gid] = user.split(":");
  if (!/^\d+$/.test(uid)) return { uid: idOffset.uid, gid: idOffset.gid, mode: 0o777 };
  const group = /^\d+$/.test(gid ?? "") ? Number(gid) : Number(uid);
  return { uid: idOffset.uid + Number(uid), gid: idOffset.gid + group, mode: 0o700 };
}

/** The spec's base64 key as bytes (the contract has checked its shape). */
export function volumeKeyBytes(volume: { key: string } | undefined): Uint8Array | null {
  return volume ? new Uint8Array(Buffer.from(volume.key, "base64")) : null;
}

export class VolumeManager {
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Sessions whose online growth the kernel refused: grown offline at their next attach. */
  private readonly deferredGrowth = new Set<string>();

  /** Formatted images made ahead of spawns (image_pool.ts), of the size the last new volume had. */
  private readonly pool: ImagePool;
  private lastNewSizeMb: number | null = null;

  constructor(
    readonly root: string,
    /** False only with --allow-unencrypted-volumes on a host without ext4 encryption. */
    readonly encrypt: boolean,
    private readonly log: { warn(msg: string, f?: Record<string, unknown>): void } = { warn() {} },
    /** How many images may wait in the warm pool (0: none, each volume is made when asked for). */
    warmPool = 0,
  ) {
    mkdirSync(join(root, "mnt"), { recursive: true, mode: 0o700 });
    this.pool = new ImagePool(root, warmPool, encrypt, log);
  }

  /** Tops the warm pool up to the size the last new volume had (after a spawn, in the background). */
  refillPool(): Promise<void> {
    return this.lastNewSizeMb === null ? Promise.resolve() : this.pool.refill(this.lastNewSizeMb);
  }

  /** Resolves once the warm pool is not being refilled. */
  poolIdle(): Promise<void> {
    return this.pool.idle();
  }

  /** Shutdown: the images waiting in the pool are deleted. */
  drainPool(): Promise<void> {
    return this.pool.drain();
  }

  imagePath(sessionId: string) {
    return join(this.root, `${sessionId}.img`);
  }
  private mountpoint(sessionId: string) {
    return join(this.root, "mnt", sessionId);
  }
  /** The host directory bind-mounted at the template's data path. */
  dataPath(sessionId: string) {
    return join(this.mountpoint(sessionId), "data");
  }

  /** One operation per session at a time: a freeze never interleaves with a restore's mount. */
  private serial<T>(sessionId: string, job: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(sessionId) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(job);
    this.queues.set(sessionId, next);
    void next
      .finally(() => {
        if (this.queues.get(sessionId) === next) this.queues.delete(sessionId);
      })
      .catch(() => {});
    return next;
  }

  /**
   * Creates (first time), attaches, mounts, grows to the plan and unlocks the volume; idempotent.
   * Returns the host path to bind-mount.
   */
  ensure(sessionId: string, request: EnsureRequest): Promise<string> {
    return this.serial(sessionId, async () => {
      if (this.encrypt && !request.key)
        throw new VolumeError(
          400,
          "volume_key_required",
          "this node encrypts volumes: the spec needs volume.key",
        );
      const spans = request.spans ?? NO_SPANS;
      const image = this.imagePath(sessionId);
      const mountpoint = this.mountpoint(sessionId);
      // Made here and now at the plan's size: its filesystem needs no size check before mounting.
      let made = false;
      if (!existsSync(image) && request.sizeMb !== null) {
        this.lastNewSizeMb = request.sizeMb;
        made = this.pool.take(request.sizeMb, image);
      }
      if (!existsSync(image)) {
        if (request.sizeMb === null)
          throw new VolumeError(409, "volume_missing", "this session's volume is not on this node");
        // Formatted under a temporary name: a crash mid-format never leaves a half-made image behind.
        const partial = `${image}.partial`;
        rmSync(partial, { force: true });
        try {
          const sizeMb = request.sizeMb;
          await spans.time("volume: fallocate + mkfs.ext4", () => createImage(partial, sizeMb, this.encrypt));
        } catch (error) {
          rmSync(partial, { force: true });
          // Images are preallocated: a full node says so here, before anything else is made.
          if (error instanceof DiskImageError && /No space left/i.test(error.message))
            throw new VolumeError(
              503,
              "node_out_of_disk",
              "this node has no disk left for the plan's volume",
            );
          throw error;
        }
        renameSync(partial, image);
        made = true;
      }
      if (!isMounted(mountpoint)) {
        // The file may already be bigger than its filesystem: an online growth the kernel refused.
        const wanted = Math.max((request.sizeMb ?? 0) * 1024 * 1024, statSync(image).size);
        if (!made && (await spans.time("volume: dumpe2fs size", () => filesystemBytes(image))) < wanted) {
          if (await loopFor(image)) await detachLoops(image);
          await growUnmounted(image, Math.ceil(wanted / (1024 * 1024)));
        }
        const device = await spans.time("volume: losetup", () => attachLoop(image, made));
        mkdirSync(mountpoint, { recursive: true, mode: 0o700 });
        await spans.time("volume: mount", () => mount(device, mountpoint));
        this.deferredGrowth.delete(sessionId);
      } else if (request.sizeMb !== null) {
        await this.growMountedTo(sessionId, request.sizeMb);
      }
      const data = this.dataPath(sessionId);
      if (!existsSync(data)) mkdirSync(data, { mode: 0o700 });
      // Fresh also when an earlier attempt died between mkdir and the policy (an empty, plain dir).
      const fresh = readdirSync(data).length === 0 && !(this.encrypt && getPolicy(data));
      if (fresh) {
        chownSync(data, request.owner.uid, request.owner.gid);
        chmodSync(data, request.owner.mode);
      }
      try {
        const key = request.key;
        if (this.encrypt && key)
          await spans.time("volume: fscrypt add key + policy", () =>
            this.unlockMounted(sessionId, key, fresh),
          );
      } finally {
        request.key?.fill(0);
      }
      return data;
    });
  }

  /** Grows a mounted volume to `sizeMb` (never shrinks); a no-op when it is not mounted here. */
  grow(sessionId: string, sizeMb: number): Promise<void> {
    return this.serial(sessionId, () => this.growMountedTo(sessionId, sizeMb));
  }

  /** The mounted filesystem's size in MiB (with minixdf, statfs counts every block), or null. */
  sizeMb(sessionId: string): number | null {
    const mountpoint = this.mountpoint(sessionId);
    if (!isMounted(mountpoint)) return null;
    const fs = statfsSync(mountpoint);
    return Math.floor((fs.blocks * fs.bsize) / (1024 * 1024));
  }

  private async growMountedTo(sessionId: string, sizeMb: number) {
    if ((this.sizeMb(sessionId) ?? sizeMb) >= sizeMb || this.deferredGrowth.has(sessionId)) return;
    // Where the kernel refuses online resizing (no CAP_SYS_RESOURCE), the next cold attach grows it
    // offline instead; until then nothing retries (no warning on every reconcile).
    const image = this.imagePath(sessionId);
    try {
      await growMounted(image, await attachLoop(image), sizeMb);
    } catch (error) {
      this.deferredGrowth.add(sessionId);
      this.log.warn("online volume growth failed; it grows at the next attach", {
        session: sessionId,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private unlockMounted(sessionId: string, key: Uint8Array, fresh: boolean) {
    const mountpoint = this.mountpoint(sessionId);
    const data = this.dataPath(sessionId);
    if (key.byteLength !== VOLUME_KEY_BYTES)
      throw new VolumeError(400, "invalid_volume_key", "volume.key must be 32 bytes");
    const identifier = addKey(mountpoint, key);
    if (fresh) {
      setPolicy(data, identifier);
      return;
    }
    const policy = getPolicy(data);
    if (!policy || !sameIdentifier(policy.identifier, identifier)) {
      removeKey(mountpoint, identifier);
      throw new VolumeError(
        409,
        "volume_key_mismatch",
        policy
          ? "the volume was encrypted under another key"
          : "the volume's data directory is not encrypted",
      );
    }
  }

  /**
   * Freeze: takes the key out of the kernel. Returns whether files were still in use (a paused
   * container keeps its open files' per-file keys: docs/AGENT.md says what stays readable).
   */
  lock(sessionId: string): Promise<{ removed: boolean; busy: boolean }> {
    return this.serial(sessionId, async () => this.removeMountedKey(sessionId));
  }

  private removeMountedKey(sessionId: string): { removed: boolean; busy: boolean } {
    const identifier = this.identifier(sessionId);
    if (!identifier) return { removed: false, busy: false };
    return { removed: true, ...removeKey(this.mountpoint(sessionId), identifier) };
  }

  /** The key's identifier, read from the directory's policy (which needs no key). */
  identifier(sessionId: string): KeyIdentifier | null {
    if (!this.encrypt || !isMounted(this.mountpoint(sessionId))) return null;
    return getPolicy(this.dataPath(sessionId))?.identifier ?? null;
  }

  /** Whether the session's key is in the kernel right now ("absent" when not mounted). */
  keyState(sessionId: string): "absent" | "present" | "incompletely_removed" {
    const identifier = this.identifier(sessionId);
    return identifier ? keyStatus(this.mountpoint(sessionId), identifier) : "absent";
  }

  /** Crypto-shredding, step one of a kill: the key leaves the kernel before anything else goes. */
  shredKey(sessionId: string): Promise<void> {
    return this.serial(sessionId, async () => {
      this.removeMountedKey(sessionId);
    });
  }

  /** Step two, once the container is gone: key again (now nothing holds files), unmount, delete. */
  destroy(sessionId: string): Promise<void> {
    return this.serial(sessionId, () => this.destroyNow(sessionId));
  }

  /** Sessions with a volume image on this node (the warm pool's images are nobody's yet). */
  sessionIds(): string[] {
    return readdirSync(this.root)
      .filter((name) => name.endsWith(".img"))
      .map((name) => name.slice(0, -".img".length))
      .filter((id) => SESSION_ID.test(id));
  }

  /**
   * Destroys the session's volume unless something uses it: its key is in the kernel (a spawn or a
   * restore unlocked it), or, unencrypted, it is mounted. False when it was left alone.
   */
  destroyUnused(sessionId: string): Promise<boolean> {
    return this.serial(sessionId, async () => {
      const inUse = this.encrypt
        ? this.keyState(sessionId) === "present"
        : isMounted(this.mountpoint(sessionId));
      if (inUse) return false;
      await this.destroyNow(sessionId);
      return true;
    });
  }

  private async destroyNow(sessionId: string): Promise<void> {
    const image = this.imagePath(sessionId);
    const mountpoint = this.mountpoint(sessionId);
    const device = mountedDevice(mountpoint);
    if (device !== null) {
      this.removeMountedKey(sessionId);
      await unmount(mountpoint);
      // Found by the mount, not the file: a loop whose image was already unlinked is freed too.
      if (/^\/dev\/loop\d+$/.test(device)) await detachLoop(device).catch(() => {});
    }
    if (existsSync(image)) await detachLoops(image);
    removeEmptyDir(mountpoint);
    rmSync(image, { force: true });
    rmSync(`${image}.partial`, { force: true });
  }

  /** Unmounts and detaches without deleting: what a node reboot does, for tests and shutdown. */
  detach(sessionId: string): Promise<void> {
    return this.serial(sessionId, async () => {
      const image = this.imagePath(sessionId);
      await unmount(this.mountpoint(sessionId));
      if (existsSync(image)) await detachLoops(image);
      removeEmptyDir(this.mountpoint(sessionId));
    });
  }

  async device(sessionId: string): Promise<string | null> {
    const image = this.imagePath(sessionId);
    return existsSync(image) ? loopFor(image) : null;
  }
}

function sameIdentifier(a: KeyIdentifier, b: KeyIdentifier): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}

/** Only ever an empty mount point: never recursive, so a still-mounted volume cannot be emptied. */
function removeEmptyDir(path: string) {
  if (existsSync(path) && !isMounted(path)) rmdirSync(path);
}
