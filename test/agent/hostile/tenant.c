/* What a hostile tenant tries from inside its container. Each attempt prints one line:
 *   <name> BLOCKED <errno text>   or   <name> ALLOWED
 * Arguments: <other container ip> <port> <node address> <agent port> <a host pid (dockerd)>
 * The system calls clawfleet's seccomp profile refuses on top of Docker's default (io_uring,
 * userfaultfd, perf_event_open, the key syscalls, bpf, ptrace and process_vm_*) are each tried here,
 * ptrace and process_vm_readv even on the tenant's own child. */
/* Network probes use non-blocking connects with a short timeout; nothing is ever sent to a
 * link-local or outside address (the metadata block is proven from the firewall rules instead). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <linux/perf_event.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int allowed_count = 0;

static void report(const char *name, int rc) {
  if (rc < 0) printf("%s BLOCKED %s\n", name, strerror(errno));
  else { printf("%s ALLOWED\n", name); allowed_count++; }
  fflush(stdout);
}

static int try_connect(const char *ip, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, ip, &addr.sin_addr);
  int rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
  if (rc < 0 && errno == EINPROGRESS) {
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (poll(&p, 1, 2000) == 1) {
      int err = 0; socklen_t len = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) rc = 0; else { errno = err; rc = -1; }
    } else { errno = ETIMEDOUT; rc = -1; }
  }
  close(fd);
  return rc;
}

static int try_open_write(const char *path) {
  int fd = open(path, O_WRONLY);
  if (fd >= 0) { close(fd); return 0; }
  return -1;
}

int main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: tenant <other-ip> <port> <node-ip> <agent-port> <host-pid>\n"); return 2; }
  report("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
  report("unshare_user", unshare(CLONE_NEWUSER));
  report("unshare_net", unshare(CLONE_NEWNET));
  report("ptrace_host_process", ptrace(PTRACE_ATTACH, atoi(argv[5]), NULL, NULL) < 0 ? -1 : 0);
  report("kill_host_process", kill(atoi(argv[5]), 0));
  report("keyctl", (int)syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 1));
  union bpf_attr attr; memset(&attr, 0, sizeof attr);
  report("bpf", (int)syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
  report("add_key", (int)syscall(SYS_add_key, "user", "k", "v", 1, -2 /* process keyring */));
  report("request_key", (int)syscall(SYS_request_key, "user", "k", NULL, 0));
  unsigned char uring_params[120]; memset(uring_params, 0, sizeof uring_params);
  report("io_uring_setup", (int)syscall(425 /* io_uring_setup */, 4, uring_params));
  report("userfaultfd", (int)syscall(SYS_userfaultfd, 0));
  struct perf_event_attr pe; memset(&pe, 0, sizeof pe);
  pe.type = PERF_TYPE_SOFTWARE; pe.size = sizeof pe; pe.config = PERF_COUNT_SW_CPU_CLOCK;
  pe.exclude_kernel = 1; pe.exclude_hv = 1;
  report("perf_event_open", (int)syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
  /* Its own child: even that must be out of reach of ptrace and process_vm_readv. */
  pid_t own = fork();
  if (own == 0) { pause(); _exit(0); }
  report("ptrace_own_child", ptrace(PTRACE_ATTACH, own, NULL, NULL) < 0 ? -1 : 0);
  char probe[8]; struct iovec local = {probe, sizeof probe}, remote = {probe, sizeof probe};
  report("process_vm_readv", (int)process_vm_readv(own, &local, 1, &remote, 1, 0));
  kill(own, SIGKILL); waitpid(own, NULL, 0);
  /* ulimits: the open-files limit holds and cannot be raised. */
  struct rlimit nofile; getrlimit(RLIMIT_NOFILE, &nofile);
  struct rlimit nproc; getrlimit(RLIMIT_NPROC, &nproc);
  printf("nofile %llu %llu\nnproc %llu %llu\n", (unsigned long long)nofile.rlim_cur,
         (unsigned long long)nofile.rlim_max, (unsigned long long)nproc.rlim_cur, (unsigned long long)nproc.rlim_max);
  struct rlimit more = {nofile.rlim_max + 1, nofile.rlim_max + 1};
  report("raise_nofile", setrlimit(RLIMIT_NOFILE, &more));
  int opened = 0, last_errno = 0;
  for (; opened < 100000; opened++) {
    if (open("/dev/null", O_RDONLY) < 0) { last_errno = errno; break; }
  }
  for (int fd = 3; fd < opened + 3; fd++) close(fd);
  errno = last_errno;
  report("open_files_past_limit", last_errno ? -1 : 0);
  printf("files_opened %d\n", opened);
  report("raw_socket", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
  report("packet_socket", socket(AF_PACKET, SOCK_RAW, 0));
  report("setuid_root", setuid(0));
  report("chroot", chroot("/"));
  report("swapon", swapon("/data/swap", 0));
  report("reboot", reboot(RB_POWER_OFF));
  report("init_module", (int)syscall(SYS_init_module, NULL, 0, ""));
  report("write_sysrq", try_open_write("/proc/sysrq-trigger"));
  report("write_proc_sys", try_open_write("/proc/sys/kernel/hostname"));
  report("write_sys", try_open_write("/sys/kernel/mm/transparent_hugepage/enabled"));
  report("write_cgroup", try_open_write("/sys/fs/cgroup/memory/memory.limit_in_bytes"));
  report("docker_sock", try_open_write("/var/run/docker.sock"));
  report("write_root", try_open_write("/etc/passwd"));
  report("other_container", try_connect(argv[1], atoi(argv[2])));
  report("agent_port", try_connect(argv[3], atoi(argv[4])));
  report("node_ssh", try_connect(argv[3], 22));

  /* Fork bomb, bounded: the pids limit must stop it long before 100,000 processes. */
  int forks = 0, fork_failed = 0;
  pid_t kids[100000];
  for (; forks < 100000; forks++) {
    pid_t pid = fork();
    if (pid < 0) { fork_failed = 1; break; }
    if (pid == 0) { pause(); _exit(0); }
    kids[forks] = pid;
  }
  for (int i = 0; i < forks; i++) kill(kids[i], SIGKILL);
  for (int i = 0; i < forks; i++) waitpid(kids[i], NULL, 0);
  errno = EAGAIN;
  report("fork_bomb", fork_failed ? -1 : 0);
  printf("forks_before_limit %d\n", forks);

  /* Memory exhaustion in a child: the memory limit must kill it, not the node. */
  pid_t hog = fork();
  if (hog == 0) {
    for (size_t total = 0; total < (size_t)64 << 30; total += 16 << 20) {
      char *block = malloc(16 << 20);
      if (!block) _exit(3);
      memset(block, 1, 16 << 20);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(hog, &status, 0);
  errno = ENOMEM;
  report("memory_exhaustion", (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 3)) ? -1 : 0);

  printf("allowed %d\n", allowed_count);
  return 0;
}
