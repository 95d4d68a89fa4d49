// The file tools: read, write and list files under the data directory, and nowhere else. A path is
// resolved against the data directory, `..` may not climb out of it, and every existing component is
// checked with lstat: a symlink is followed only if where it points is still inside. The runtime's
// own store is off limits (writing into a live SQLite file would corrupt history).
import { lstatSync, mkdirSync, readdirSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { STORE_FILE } from "../store/open.ts";

export const READ_CAP = 256 * 1024;
export const WRITE_CAP = 1024 * 1024;
const LIST_CAP = 500;

export class ToolInputError extends Error {
  override name = "ToolInputError";
}

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep);
}

/** The absolute path for `requested`, or a ToolInputError saying why it is refused. */
export function resolveDataPath(dataDir: string, requested: string): string {
  if (typeof requested !== "string" || requested.length > 4096 || requested.includes("\0")) {
    throw new ToolInputError("path must be a string of at most 4096 characters");
  }
  const root = realpathSync(dataDir);
  // "/notes.txt" means the data directory's notes.txt, and so does "/data/notes.txt".
  let relativePath = requested;
  if (isAbsolute(relativePath)) {
    relativePath =
      inside(dataDir, relativePath) || inside(root, relativePath)
        ? relative(inside(root, relativePath) ? root : dataDir, relativePath)
        : relativePath.replace(/^\/+/, "");
  }
  const target = resolve(root, relativePath);
  if (!inside(root, target)) throw new ToolInputError(`${requested}: outside the data directory`);
  // Walk the existing components: any symlink must land inside the root.
  let current = root;
  const parts = relative(root, target).split(sep).filter(Boolean);
  for (const [index, part] of parts.entries()) {
    current = join(current, part);
    let isLink = false;
    try {
      isLink = lstatSync(current).isSymbolicLink();
    } catch {
      // The rest does not exist yet (a write may create it).
      current = join(current, ...parts.slice(index + 1));
      break;
    }
    if (isLink) {
      let real: string;
      try {
        real = realpathSync(current);
      } catch {
        throw new ToolInputError(`${requested}: a broken symbolic link`);
      }
      if (!inside(root, real))
        throw new ToolInputError(`${requested}: a symbolic link out of the data directory`);
      current = real;
    }
  }
  const base = relative(root, current);
  if (base === STORE_FILE || base.startsWith(`${STORE_FILE}-`)) {
    throw new ToolInputError(`${requested}: the runtime's own store is not available to tools`);
  }
  return current;
}

export async function readDataFile(
  dataDir: string,
  path: string,
): Promise<{ content: string; size: number; truncated: boolean }> {
  const full = resolveDataPath(dataDir, path);
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(full);
  } catch {
    throw new ToolInputError(`${path}: no such file`);
  }
  if (!stat.isFile()) throw new ToolInputError(`${path}: not a regular file`);
  const content = await Bun.file(full).slice(0, READ_CAP).text();
  return { content, size: stat.size, truncated: stat.size > READ_CAP };
}

export function writeDataFile(dataDir: string, path: string, content: string): { bytes: number } {
  if (typeof content !== "string") throw new ToolInputError("content must be a string");
  const bytes = Buffer.byteLength(content);
  if (bytes > WRITE_CAP) throw new ToolInputError(`content is limited to ${WRITE_CAP} bytes`);
  const full = resolveDataPath(dataDir, path);
  if (full === realpathSync(dataDir)) throw new ToolInputError(`${path}: is the data directory itself`);
  mkdirSync(dirname(full), { recursive: true, mode: 0o700 });
  // Re-check after creating directories: nothing may have become a link on the way.
  resolveDataPath(dataDir, relative(realpathSync(dataDir), full));
  writeFileSync(full, content, { mode: 0o600 });
  return { bytes };
}

export type ListedEntry = { name: string; type: "file" | "directory" | "symlink" | "other"; size: number };

export function listDataDir(dataDir: string, path: string): { entries: ListedEntry[]; truncated: boolean } {
  const full = resolveDataPath(dataDir, path || ".");
  let names: string[];
  try {
    names = readdirSync(full).sort();
  } catch {
    throw new ToolInputError(`${path || "."}: no such directory`);
  }
  const entries: ListedEntry[] = [];
  for (const name of names.slice(0, LIST_CAP)) {
    try {
      const stat = lstatSync(join(full, name));
      const type = stat.isSymbolicLink()
        ? "symlink"
        : stat.isDirectory()
          ? "directory"
          : stat.isFile()
            ? "file"
            : "other";
      entries.push({ name, type, size: stat.size });
    } catch {
      // Vanished while listing.
    }
  }
  return { entries, truncated: names.length > LIST_CAP };
}
