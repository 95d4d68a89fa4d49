// A volume's backing store: a preallocated file holding an ext4 filesystem, attached through a loop
// device and mounted on the node. The util-linux and e2fsprogs tools do the work (what the node
// installer puts on every node); each call is bounded and its stderr becomes the error.
import { readFileSync } from "node:fs";

export class DiskImageError extends Error {}

async function run(cmd: string[], timeoutMs = 60_000, okCodes: number[] = [0]): Promise<string> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  if (!okCodes.includes(code))
    throw new DiskImageError(`${cmd[0]} failed (${code}): ${err.trim().split("\n").slice(-2).join(" ")}`);
  return out.trim();
}

/**
 * Preallocated rather than sparse: the node's disk is committed when the volume is made, so tenants
 * together can never fill it by writing inside their plans. `nodiscard` keeps mke2fs from punching
 * the preallocation back out; `-m 0` because the container's users are never host root, so reserved
 * blocks would be space nobody may use. Inode tables and journal are initialised here, not lazily:
 * on a preallocated file mke2fs does it as fast (25 ms for 512 MiB, 34 ms for 4 GiB on the test node),
 * whereas a lazily initialised filesystem has the kernel's ext4lazyinit thread zeroing it right after
 * the first mount, in the very moment the container starts on it (BENCHMARKS.md, issue 20).
 */
export async function createImage(path: string, sizeMb: number, encrypt: boolean): Promise<void> {
  await run(["fallocate", "-l", `${sizeMb}MiB`, path]);
  await run([
    "mkfs.ext4",
    "-q",
    "-F",
    "-m",
    "0",
    // The page size: kernels before 5.5 encrypt only filesystems whose blocks match it.
    "-b",
    "4096",
    "-E",
    "nodiscard,lazy_itable_init=0,lazy_journal_init=0",
    ...(encrypt ? ["-O", "encrypt"] : []),
    "-L",
    "clawfleet",
    path,
  ]);
}

/** The loop device already backed by `path`, if any (after an agent restart the kernel still has it). */
export async function loopFor(path: string): Promise<string | null> {
  const out = await run(["losetup", "--noheadings", "--output", "NAME", "--associated", path]);
  return out.split("\n").find(Boolean)?.trim() ?? null;
}

/**
 * `fresh`: the image was made just now, so no loop device can back it yet (one process fewer). Direct
 * I/O: the container's writes reach the image without a second copy in the node's page cache, and an
 * fsync inside the container costs half as much (0.5 vs 1 ms on the test node; a runtime's store
 * fsyncs while it starts). Where the backing file cannot do direct I/O the kernel keeps the device
 * buffered (loop_update_dio); tried on ext4 and tmpfs data dirs.
 */
export async function attachLoop(path: string, fresh = false): Promise<string> {
  return (
    (fresh ? null : await loopFor(path)) ??
    (await run(["losetup", "--find", "--show", "--direct-io=on", path]))
  );
}

export function isMounted(mountpoint: string): boolean {
  return mountedDevice(mountpoint) !== null;
}

/** The device mounted at `mountpoint`, from /proc/self/mountinfo (field 5, and the source after " - "). */
export function mountedDevice(mountpoint: string): string | null {
  // Octal-escaped fields; our paths have nothing to escape.
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    if (line.split(" ")[4] !== mountpoint) continue;
    return line.split(" - ")[1]?.split(" ")[1] ?? "";
  }
  return null;
}

/**
 * `minixdf` makes statfs count every block of the image, so `df` in the container shows exactly the
 * plan's size (ext4's metadata then appears as used space instead of shrinking the total).
 */
export async function mount(device: string, mountpoint: string): Promise<void> {
  await run(["mount", "-t", "ext4", "-o", "nodev,nosuid,minixdf", device, mountpoint]);
}

/**
 * A mount still in use right after its container was removed (the runtime's last processes and
 * Docker's cleanup finish moments after the API answered) is tried again for up to `waitMs`: a kill
 * that failed here would leave the image behind, and nothing retries a kill whose container is gone.
 */
export async function unmount(mountpoint: string, waitMs = 3_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (!isMounted(mountpoint)) return;
    try {
      await run(["umount", mountpoint]);
      return;
    } catch (error) {
      if (!/busy/i.test(String(error)) || Date.now() >= deadline) throw error;
      await Bun.sleep(100);
    }
  }
}

export async function detachLoop(device: string): Promise<void> {
  await run(["losetup", "--detach", device]);
}

export async function detachLoops(path: string): Promise<void> {
  for (let device = await loopFor(path), tries = 0; device && tries < 8; tries++) {
    await run(["losetup", "--detach", device]);
    device = await loopFor(path);
  }
}

/** The filesystem's size in bytes, from its superblock (no mount needed). */
export async function filesystemBytes(pathOrDevice: string): Promise<number> {
  const header = await run(["dumpe2fs", "-h", pathOrDevice]);
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+)$`, "m").exec(header)?.[1] ?? Number.NaN);
  return field("Block count") * field("Block size");
}

/** Offline growth of an unmounted image: a forced check first, as resize2fs requires. */
export async function growUnmounted(path: string, sizeMb: number): Promise<void> {
  await run(["fallocate", "-l", `${sizeMb}MiB`, path]);
  // 1: errors were found and corrected (a journal replayed after a crash), which is what -p is for.
  await run(["e2fsck", "-f", "-p", path], 300_000, [0, 1]);
  await run(["resize2fs", path], 300_000);
}

/**
 * Online growth of a mounted image: the file, then the loop device's capacity, then resize2fs (which
 * the kernel allows only to a process with CAP_SYS_RESOURCE).
 */
export async function growMounted(path: string, device: string, sizeMb: number): Promise<void> {
  await run(["fallocate", "-l", `${sizeMb}MiB`, path]);
  await run(["losetup", "--set-capacity", device]);
  await run(["resize2fs", device], 300_000);
}

/** Whether this kernel and these tools can make encrypted ext4 volumes at all. */
export function hostSupportsEncryption(): boolean {
  try {
    readFileSync("/sys/fs/ext4/features/encryption");
    return true;
  } catch {
    return false;
  }
}

export { run as runTool };
