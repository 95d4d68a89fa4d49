// The seccomp profile every user container runs under (agent/seccomp.json, embedded in the binary).
// An allowlist: any system call it does not name is refused with EPERM. It is stricter than Docker's
// default profile: besides what Docker already refuses (mount, unshare, setns, kexec, modules,
// namespaces through clone…), it refuses the calls below, each a large kernel attack surface or a
// way to read another process's memory that a chat runtime and a shell never need. clone3 answers
// ENOSYS so that libc falls back to clone, whose flags are checked (no new namespaces); personality
// takes only the values Docker's default allows.
import profile from "./seccomp.json";

/** Refused on top of Docker's default; the hostile-tenant test proves each one fails. */
export const EXTRA_REFUSED_SYSCALLS = [
  "io_uring_setup",
  "io_uring_enter",
  "io_uring_register",
  "userfaultfd",
  "perf_event_open",
  "keyctl",
  "add_key",
  "request_key",
  "bpf",
  "ptrace",
  "process_vm_readv",
  "process_vm_writev",
  "process_madvise",
  "pidfd_getfd",
  "kcmp",
] as const;

export const SECCOMP_PROFILE = JSON.stringify(profile);

/** Every system call the profile lets through unconditionally. */
export function allowedSyscalls(): string[] {
  return profile.syscalls
    .filter((s) => s.action === "SCMP_ACT_ALLOW" && !("args" in s))
    .flatMap((s) => s.names);
}
