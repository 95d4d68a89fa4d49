// The kernel's filesystem encryption (fscrypt, v2 policies) through its ioctls, called with bun:ffi so
// the compiled agent needs no `fscrypt` tool beside it. A v2 key lives in the filesystem's own keyring
// (not a process keyring): added once, it unlocks the directory for every process that can reach it,
// and removing it wipes the secret from the kernel. Layouts are those of <linux/fscrypt.h>.
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { closeSync, openSync } from "node:fs";

const FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER = 2;
const FSCRYPT_MODE_AES_256_XTS = 1;
const FSCRYPT_MODE_AES_256_CTS = 4;
const FSCRYPT_POLICY_FLAGS_PAD_32 = 0x03;
const FSCRYPT_KEY_STATUS_ABSENT = 1;
const FSCRYPT_KEY_STATUS_PRESENT = 2;
const FSCRYPT_KEY_REMOVAL_STATUS_FLAG_FILES_BUSY = 0x1;

// _IOR('f', 19, struct fscrypt_policy_v1): the number keeps the v1 size; the version byte selects v2.
const FS_IOC_SET_ENCRYPTION_POLICY = 0x800c6613;
const FS_IOC_GET_ENCRYPTION_POLICY_EX = 0xc0096616;
const FS_IOC_ADD_ENCRYPTION_KEY = 0xc0506617;
const FS_IOC_REMOVE_ENCRYPTION_KEY = 0xc0406618;
const FS_IOC_GET_ENCRYPTION_KEY_STATUS = 0xc080661a;

/** A v2 master key's identifier: derived from the key by the kernel, safe to keep and to log. */
export type KeyIdentifier = Uint8Array;

export class FscryptError extends Error {
  constructor(
    readonly operation: string,
    readonly errno: number,
  ) {
    super(`${operation} failed (errno ${errno})`);
  }
}

let libc: ReturnType<typeof openLibc> | null = null;
function openLibc() {
  return dlopen("libc.so.6", {
    ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  });
}

function ioctl(path: string, request: number, arg: Uint8Array, operation: string): void {
  libc ??= openLibc();
  const fd = openSync(path, "r");
  try {
    if (libc.symbols.ioctl(fd, request, ptr(arg)) !== 0) {
      const location = libc.symbols.__errno_location();
      throw new FscryptError(operation, location ? read.i32(location, 0) : -1);
    }
  } finally {
    closeSync(fd);
  }
}

function keySpecifier(arg: Uint8Array, identifier: KeyIdentifier) {
  new DataView(arg.buffer).setUint32(0, FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER, true);
  arg.set(identifier, 8);
}

/**
 * Adds a raw key to the keyring of the filesystem holding `mountpoint`; returns its identifier. The
 * argument buffer (which held the key) is zeroed before returning.
 */
export function addKey(mountpoint: string, key: Uint8Array): KeyIdentifier {
  const arg = new Uint8Array(80 + key.byteLength);
  const view = new DataView(arg.buffer);
  view.setUint32(0, FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER, true);
  view.setUint32(40, key.byteLength, true);
  arg.set(key, 80);
  try {
    ioctl(mountpoint, FS_IOC_ADD_ENCRYPTION_KEY, arg, "FS_IOC_ADD_ENCRYPTION_KEY");
    return arg.slice(8, 24);
  } finally {
    arg.fill(0);
  }
}

/**
 * Removes the key. `busy` means files were still open (a paused container's): the secret is wiped,
 * but inodes in use keep their per-file keys until they are released.
 */
export function removeKey(mountpoint: string, identifier: KeyIdentifier): { busy: boolean } {
  const arg = new Uint8Array(64);
  keySpecifier(arg, identifier);
  try {
    ioctl(mountpoint, FS_IOC_REMOVE_ENCRYPTION_KEY, arg, "FS_IOC_REMOVE_ENCRYPTION_KEY");
  } catch (error) {
    // ENOKEY: not in the keyring (already removed, or never added since the mount).
    if (error instanceof FscryptError && error.errno === 126) return { busy: false };
    throw error;
  }
  const flags = new DataView(arg.buffer).getUint32(40, true);
  return { busy: (flags & FSCRYPT_KEY_REMOVAL_STATUS_FLAG_FILES_BUSY) !== 0 };
}

export type KeyStatus = "absent" | "present" | "incompletely_removed";

export function keyStatus(mountpoint: string, identifier: KeyIdentifier): KeyStatus {
  const arg = new Uint8Array(128);
  keySpecifier(arg, identifier);
  ioctl(mountpoint, FS_IOC_GET_ENCRYPTION_KEY_STATUS, arg, "FS_IOC_GET_ENCRYPTION_KEY_STATUS");
  const status = new DataView(arg.buffer).getUint32(64, true);
  return status === FSCRYPT_KEY_STATUS_ABSENT
    ? "absent"
    : status === FSCRYPT_KEY_STATUS_PRESENT
      ? "present"
      : "incompletely_removed";
}

/** Encrypts an empty directory: AES-256-XTS for contents, AES-256-CTS for names, v2 (HKDF-derived) keys. */
export function setPolicy(directory: string, identifier: KeyIdentifier): void {
  const policy = new Uint8Array(24);
  policy[0] = 2;
  policy[1] = FSCRYPT_MODE_AES_256_XTS;
  policy[2] = FSCRYPT_MODE_AES_256_CTS;
  policy[3] = FSCRYPT_POLICY_FLAGS_PAD_32;
  policy.set(identifier, 8);
  ioctl(directory, FS_IOC_SET_ENCRYPTION_POLICY, policy, "FS_IOC_SET_ENCRYPTION_POLICY");
}

/** The directory's v2 policy (readable without the key), or null when it is not encrypted. */
export function getPolicy(
  directory: string,
): { contentsMode: number; filenamesMode: number; identifier: KeyIdentifier } | null {
  // struct fscrypt_get_policy_ex_arg: u64 policy_size, then the policy.
  const arg = new Uint8Array(8 + 24);
  new DataView(arg.buffer).setBigUint64(0, 24n, true);
  try {
    ioctl(directory, FS_IOC_GET_ENCRYPTION_POLICY_EX, arg, "FS_IOC_GET_ENCRYPTION_POLICY_EX");
  } catch (error) {
    // ENODATA: the directory is not encrypted; EOPNOTSUPP: the filesystem cannot be.
    if (error instanceof FscryptError && (error.errno === 61 || error.errno === 95)) return null;
    throw error;
  }
  if (arg[8] !== 2) return null;
  return { contentsMode: arg[9] ?? 0, filenamesMode: arg[10] ?? 0, identifier: arg.slice(16, 32) };
}

export const MODES = { aes256Xts: FSCRYPT_MODE_AES_256_XTS, aes256Cts: FSCRYPT_MODE_AES_256_CTS };
