// The volume mechanism on real loop devices and real fscrypt, without Docker: an image, its loop
// device, a v2 policy under a raw key, and the image's raw bytes read back from the host.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadAgentConfig } from "../../../agent/config.ts";
import { attachLoop, createImage, mount } from "../../../agent/volumes/disk_image.ts";
import { getPolicy, keyStatus, MODES } from "../../../agent/volumes/fscrypt.ts";
import { VolumeError, VolumeManager, volumeOwner } from "../../../agent/volumes/volumes.ts";
import { tempDir } from "../../helpers/process.ts";

const owner = { uid: 0, gid: 0, mode: 0o700 };
const newKey = () => crypto.getRandomValues(new Uint8Array(32));

function sync() {
  expect(Bun.spawnSync(["sync"]).exitCode).toBe(0);
}

describe("encrypted volume images", () => {
  const root = tempDir("cf-volumes");
  const volumes = new VolumeManager(root, true);
  const id = crypto.randomUUID();
  const key = newKey();
  const marker = `secret-marker-${crypto.randomUUID()}`;
  const control = `control-marker-${crypto.randomUUID()}`;

  afterAll(async () => {
    await volumes.destroy(id).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  });

  test("the plaintext of the encrypted directory never reaches the image; plaintext beside it does", async () => {
    const data = await volumes.ensure(id, { sizeMb: 64, key: key.slice(), owner });
    expect(statSync(volumes.imagePath(id)).size).toBe(64 * 1024 * 1024);
    const policy = getPolicy(data);
    expect(policy?.contentsMode).toBe(MODES.aes256Xts);
    expect(policy?.filenamesMode).toBe(MODES.aes256Cts);
    writeFileSync(join(data, "notes.txt"), marker.repeat(64));
    // Written outside the encrypted directory: proves the scan below would see a plaintext marker.
    writeFileSync(join(data, "..", "control.txt"), control);
    sync();
    const raw = readFileSync(volumes.imagePath(id));
    expect(raw.includes(control)).toBe(true);
    expect(raw.includes(marker)).toBe(false);
    expect(raw.includes("notes.txt")).toBe(false);
  });

  test("without the key the files cannot be read; with it they can; another key is refused", async () => {
    const data = volumes.dataPath(id);
    const identifier = volumes.identifier(id);
    if (!identifier) throw new Error("no identifier");
    await volumes.lock(id);
    expect(keyStatus(join(data, ".."), identifier)).toBe("absent");
    expect(() => readFileSync(join(data, "notes.txt"))).toThrow();
    const other = await volumes.ensure(id, { sizeMb: 64, key: newKey(), owner }).catch((e) => e);
    expect(other).toBeInstanceOf(VolumeError);
    expect((other as VolumeError).code).toBe("volume_key_mismatch");
    expect(keyStatus(join(data, ".."), identifier)).toBe("absent");
    await volumes.ensure(id, { sizeMb: 64, key: key.slice(), owner });
    expect(readFileSync(join(data, "notes.txt"), "utf8")).toStartWith(marker);
  });

  test("a volume comes back after a detach (a reboot) with the same key", async () => {
    await volumes.detach(id);
    expect(await volumes.device(id)).toBeNull();
    expect(existsSync(volumes.dataPath(id))).toBe(false);
    await expect(volumes.ensure(id, { sizeMb: null, key: null, owner })).rejects.toThrow(/volume.key/);
    await volumes.ensure(id, { sizeMb: null, key: key.slice(), owner });
    expect(readFileSync(join(volumes.dataPath(id), "notes.txt"), "utf8")).toStartWith(marker);
  });

  test("a bigger plan grows the filesystem, keeping its data", async () => {
    const df = () =>
      Number(
        Bun.spawnSync(["df", "-k", "--output=size", volumes.dataPath(id)])
          .stdout.toString()
          .split("\n")[1],
      );
    expect(df()).toBe(64 * 1024);
    // Online growth needs CAP_SYS_RESOURCE (docs/AGENT.md); offline growth, at attach, needs nothing.
    await volumes.detach(id);
    await volumes.ensure(id, { sizeMb: 96, key: key.slice(), owner });
    expect(df()).toBe(96 * 1024);
    expect(statSync(volumes.imagePath(id)).size).toBe(96 * 1024 * 1024);
    expect(readFileSync(join(volumes.dataPath(id), "notes.txt"), "utf8")).toStartWith(marker);
  });

  test("destroy leaves no image, no mount point and no loop device", async () => {
    const image = volumes.imagePath(id);
    await volumes.destroy(id);
    expect(existsSync(image)).toBe(false);
    expect(existsSync(join(root, "mnt", id))).toBe(false);
    expect(
      Bun.spawnSync(["losetup", "--list", "--noheadings", "--output", "BACK-FILE"]).stdout.toString(),
    ).not.toContain(image);
  });
});

test("destroy waits for a process that still holds the volume a moment after its container went", async () => {
  const root = tempDir("cf-volumes-busy");
  const volumes = new VolumeManager(root, true);
  const id = crypto.randomUUID();
  try {
    const data = await volumes.ensure(id, { sizeMb: 64, key: newKey(), owner });
    // A process whose working directory is on the volume keeps it busy (umount: target is busy).
    const holder = Bun.spawn(["sleep", "0.6"], { cwd: data });
    await Bun.sleep(50);
    const busy = Bun.spawnSync(["umount", join(data, "..")]);
    expect(busy.stderr.toString()).toMatch(/busy/i);
    await volumes.destroy(id);
    expect(holder.exitCode).toBe(0);
    expect(existsSync(volumes.imagePath(id))).toBe(false);
    expect(existsSync(join(root, "mnt", id))).toBe(false);
  } finally {
    await volumes.destroy(id).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
});

test("an attempt that died between the data directory and its policy is finished by the next one", async () => {
  const root = tempDir("cf-volumes-crash");
  const volumes = new VolumeManager(root, true);
  const id = crypto.randomUUID();
  try {
    // What a kill -9 leaves: a formatted image whose data directory exists, empty and unencrypted.
    await createImage(volumes.imagePath(id), 64, true);
    const mountpoint = join(root, "mnt", id);
    mkdirSync(mountpoint);
    await mount(await attachLoop(volumes.imagePath(id)), mountpoint);
    mkdirSync(volumes.dataPath(id));
    await volumes.detach(id);
    const data = await volumes.ensure(id, { sizeMb: 64, key: newKey(), owner });
    expect(getPolicy(data)?.contentsMode).toBe(MODES.aes256Xts);
  } finally {
    await volumes.destroy(id).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
});

test("a node without the disk for a plan's volume says so (503 node_out_of_disk) and keeps nothing", async () => {
  // A 32 MiB tmpfs the test owns stands in for a nearly full node disk.
  const root = tempDir("cf-volumes-full");
  expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", root]).exitCode).toBe(0);
  try {
    const volumes = new VolumeManager(root, true);
    const id = crypto.randomUUID();
    const error = await volumes.ensure(id, { sizeMb: 64, key: newKey(), owner }).catch((e) => e);
    expect(error).toBeInstanceOf(VolumeError);
    expect((error as VolumeError).code).toBe("node_out_of_disk");
    expect((error as VolumeError).status).toBe(503);
    expect(existsSync(volumes.imagePath(id))).toBe(false);
    expect(existsSync(`${volumes.imagePath(id)}.partial`)).toBe(false);
  } finally {
    Bun.spawnSync(["umount", root]);
    rmSync(root, { recursive: true, force: true });
  }
});

describe("with --allow-unencrypted-volumes (a host without ext4 encryption)", () => {
  const root = tempDir("cf-volumes-plain");
  const volumes = new VolumeManager(root, false);
  const id = crypto.randomUUID();

  afterAll(async () => {
    await volumes.destroy(id).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  });

  test("volumes are still sized to the plan, but their data is plaintext in the image", async () => {
    const data = await volumes.ensure(id, { sizeMb: 64, key: null, owner });
    expect(getPolicy(data)).toBeNull();
    const marker = `plain-marker-${crypto.randomUUID()}`;
    writeFileSync(join(data, "notes.txt"), marker);
    sync();
    expect(readFileSync(volumes.imagePath(id)).includes(marker)).toBe(true);
    const df = Bun.spawnSync(["df", "-k", "--output=size", data]).stdout.toString().split("\n")[1];
    expect(Number(df)).toBe(64 * 1024);
  });
});

test("the flag is parsed like --allow-rootful", () => {
  const env = { CLAWFLEET_CLUSTER_SECRETS: `k:${"s".repeat(40)}`, CLAWFLEET_NODE_ID: "n1" };
  expect(loadAgentConfig(env, []).allowUnencryptedVolumes).toBe(false);
  expect(loadAgentConfig(env, ["--allow-unencrypted-volumes"]).allowUnencryptedVolumes).toBe(true);
});

test("the data directory belongs to the template's user as userns-remap maps it", () => {
  const remap = { uid: 100000, gid: 100000 };
  expect(volumeOwner("1000:1000", remap)).toEqual({ uid: 101000, gid: 101000, mode: 0o700 });
  expect(volumeOwner("1000", remap)).toEqual({ uid: 101000, gid: 101000, mode: 0o700 });
  expect(volumeOwner("1000:50", { uid: 0, gid: 0 })).toEqual({ uid: 1000, gid: 50, mode: 0o700 });
  expect(volumeOwner("node", remap)).toEqual({ uid: 100000, gid: 100000, mode: 0o777 });
});
