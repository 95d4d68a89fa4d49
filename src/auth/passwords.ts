// argon2id through Bun.password, at OWASP's minimum (m=19456 KiB, t=2, p=1). The parameters live in the
// PHC string, so a hash made under older parameters is recognised and replaced at the next login.
import { WorkQueue } from "./work_queue.ts";

export const ARGON2 = { algorithm: "argon2id", memoryCost: 19456, timeCost: 2 } as const;

// Two cores here: two hashes at a time keeps memory at ~40 MiB and leaves the event loop free.
export const passwordWork = new WorkQueue(2, 64);

export function hashPassword(password: string): Promise<string> {
  return passwordWork.run(() => Bun.password.hash(password, ARGON2));
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return passwordWork.run(() => Bun.password.verify(password, hash).catch(() => false));
}

export function needsRehash(hash: string): boolean {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(hash);
  if (!match) return true;
  return (
    Number(match[1]) !== ARGON2.memoryCost || Number(match[2]) !== ARGON2.timeCost || Number(match[3]) !== 1
  );
}

// Verified against when the email is unknown, so both paths cost the same argon2 work.
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= Bun.password.hash(crypto.randomUUID(), ARGON2);
  return dummyHash;
}
