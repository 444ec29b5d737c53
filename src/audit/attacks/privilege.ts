import type { Attack, AttackContext } from '../types.js';
import { attack, code, cppStr, knownPids } from './prelude.js';

/**
 * Privilege: the program is an ordinary uid (1000 inside, an unprivileged host uid outside) with no
 * capabilities, uid 0 does not exist in its user namespace, and the syscall filter refuses what
 * reaches past the jail (mount, chroot, ptrace, namespaces, BPF, keyrings, modules) with EPERM.
 */
export function privilegeAttacks(ctx: AttackContext): Attack[] {
  const pids = knownPids(ctx);
  const kernelCalls = [
    'bpf',
    'perf_event_open',
    'userfaultfd',
    'io_uring_setup',
    'keyctl',
    'add_key',
    'init_module',
    'kexec_load',
    'open_by_handle_at',
    'setns',
  ];
  // Newer calls by x86_64 number (syscall_64.tbl), so the probe compiles against older headers:
  // the new mount API mounts without mount(2); pidfd_getfd takes another process's descriptors.
  const newerCalls: Array<[string, number]> = [
    ['open_tree', 428],
    ['move_mount', 429],
    ['fsopen', 430],
    ['fsconfig', 431],
    ['fsmount', 432],
    ['fspick', 433],
    ['pidfd_getfd', 438],
    ['quotactl_fd', 443],
  ];
  return [
    attack({
      id: 'priv-uid',
      category: 'privilege',
      title: 'uid 0 check: getuid(), capabilities, and the real uid of the process seen from the host',
      language: 'cpp',
      hostWatch: ctx.markers.uid,
      body: code`
#include <sys/prctl.h>

int main() {
  // The audit finds this process on the host by this name and reads its host uid there: from
  // inside, uid_map only shows the parent user namespace, which bwrap's --disable-userns makes an
  // intermediate one.
  prctl(PR_SET_NAME, ${cppStr(ctx.markers.uid)}, 0, 0, 0);
  std::string ids = "uid " + std::to_string(getuid()) + ", euid " + std::to_string(geteuid()) +
                    ", gid " + std::to_string(getgid());
  if (getuid() == 0 || geteuid() == 0 || getgid() == 0) escaped("getuid()", ids + ": root");
  else blocked("getuid()", ids + " (not root)");

  std::string status = slurp("/proc/self/status");
  auto field = [&](const std::string &key) {
    size_t at = status.find(key + ":");
    if (at == std::string::npos) return std::string("?");
    std::istringstream in(status.substr(at + key.size() + 1));
    std::string value;
    in >> value;
    return value;
  };
  std::string eff = field("CapEff"), prm = field("CapPrm");
  if (eff == "0000000000000000" && prm == "0000000000000000") blocked("capabilities", "CapEff and CapPrm empty");
  else escaped("capabilities", "CapEff " + eff + ", CapPrm " + prm);

  std::istringstream map(slurp("/proc/self/uid_map"));
  long inside = -1, outside = -1, count = -1;
  map >> inside >> outside >> count;
  std::printf("INFO: uid_map %ld %ld %ld (relative to the parent user namespace)\n", inside, outside, count);
  std::fflush(stdout);
  usleep(1500 * 1000);  // long enough for the audit's scan of the host's /proc
  return 0;
}
`,
      expect: {
        text: 'not root, no capabilities; not host root seen from the host',
        statuses: ['SUCCESS'],
        blocked: 2,
        hostNotRoot: true,
      },
    }),
    attack({
      id: 'priv-setuid',
      category: 'privilege',
      title: 'become root: setuid(0), setresgid(0,0,0), setgroups([0]), setuid binaries',
      language: 'cpp',
      body: code`
#include <grp.h>

int main() {
  long rc = setuid(0);
  if (rc == 0 || getuid() == 0) escaped("setuid(0)", "uid is now " + std::to_string(getuid()));
  else blocked("setuid(0)", en(errno));
  check("setresgid(0, 0, 0)", setresgid(0, 0, 0));
  gid_t root = 0;
  check("setgroups([0])", setgroups(1, &root));

  // Setuid binaries (su, passwd, mount) exist in /usr; no_new_privs or a nosuid mount defuses them.
  std::string status = slurp("/proc/self/status");
  bool nnp = status.find("NoNewPrivs:\t1") != std::string::npos;
  bool nosuid = false;
  std::istringstream mounts(slurp("/proc/self/mountinfo"));
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point, opts;
    f >> id >> parent >> dev >> root >> point >> opts;
    if (point == "/usr" && opts.find("nosuid") != std::string::npos) nosuid = true;
  }
  if (nnp || nosuid) {
    blocked("setuid binaries", std::string(nnp ? "no_new_privs is set" : "") + (nnp && nosuid ? ", " : "") +
                                    (nosuid ? "/usr is mounted nosuid" : ""));
  } else {
    escaped("setuid binaries", "no_new_privs is off and /usr is not nosuid: su and passwd would run as root");
  }
  return 0;
}
`,
      expect: {
        text: 'every call refused (EINVAL / EPERM); setuid binaries defused',
        statuses: ['SUCCESS'],
        blocked: 4,
      },
    }),
    attack({
      id: 'priv-chroot',
      category: 'privilege',
      title: 'chroot("/tmp"), chroot("/"), pivot_root: the classic chroot escape',
      language: 'python',
      body: code`
import ctypes
for target in ['/tmp', '/']:
    what = 'chroot(%r)' % target
    try:
        os.chroot(target)
        escaped(what, 'succeeded')
    except Exception as e:
        blocked(what, why(e))
libc = ctypes.CDLL(None, use_errno=True)
os.makedirs('/tmp/old', exist_ok=True)
# pivot_root(2) has no glibc wrapper: syscall 155 on x86_64.
if libc.syscall(155, b'/tmp', b'/tmp/old') == 0:
    escaped('pivot_root("/tmp", "/tmp/old")', 'succeeded')
else:
    blocked('pivot_root("/tmp", "/tmp/old")', errno.errorcode.get(ctypes.get_errno(), '?'))
`,
      expect: { text: 'refused (EPERM)', statuses: ['SUCCESS'], blocked: 3 },
    }),
    attack({
      id: 'priv-mount',
      category: 'privilege',
      title: 'mount tmpfs/proc, remount / read-write, umount /proc, unshare a user namespace',
      language: 'cpp',
      body: code`
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

int main() {
  mkdir("/tmp/m", 0700);
  check("mount(tmpfs, /tmp/m)", mount("none", "/tmp/m", "tmpfs", 0, nullptr));
  check("mount(proc, /tmp/m)", mount("proc", "/tmp/m", "proc", 0, nullptr));
  check("remount / read-write", mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND, nullptr));
  check("umount2(/proc, MNT_DETACH)", umount2("/proc", MNT_DETACH));
  check("unshare(CLONE_NEWUSER | CLONE_NEWNS)", unshare(CLONE_NEWUSER | CLONE_NEWNS));
  return 0;
}
`,
      expect: { text: 'every call refused (EPERM)', statuses: ['SUCCESS'], blocked: 5 },
    }),
    attack({
      id: 'priv-ptrace',
      category: 'privilege',
      title: 'ptrace: PTRACE_TRACEME, attach/seize pid 1, attach own child, process_vm_readv, the worker',
      language: 'cpp',
      body: code`
#include <csignal>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <utility>
#include <vector>

int main() {
  check("ptrace(PTRACE_TRACEME)", ptrace(PTRACE_TRACEME, 0, nullptr, nullptr));
  check("ptrace(PTRACE_ATTACH, 1)", ptrace(PTRACE_ATTACH, 1, nullptr, nullptr));
  check("ptrace(PTRACE_SEIZE, 1)", ptrace(PTRACE_SEIZE, 1, nullptr, nullptr));
  pid_t child = fork();
  if (child == 0) {
    for (int i = 0; i < 100; i++) pause();
    _exit(0);
  }
  check("ptrace(PTRACE_ATTACH, own child)", ptrace(PTRACE_ATTACH, child, nullptr, nullptr));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  char buf[16];
  struct iovec local = {buf, sizeof buf}, remote = {reinterpret_cast<void *>(0x400000), sizeof buf};
  check("process_vm_readv(1)", process_vm_readv(1, &local, 1, &remote, 1, 0));
  const std::vector<std::pair<std::string, long>> hosts = {${pids.map((p) => `{"${p.name}", ${p.pid}}`).join(', ')}};
  for (const auto &[name, pid] : hosts) {
    check("ptrace(PTRACE_ATTACH, the " + name + " at host pid " + std::to_string(pid) + ")",
          ptrace(PTRACE_ATTACH, static_cast<pid_t>(pid), nullptr, nullptr));
  }
  return 0;
}
`,
      expect: { text: 'every call refused (EPERM)', statuses: ['SUCCESS'], blocked: 5 + pids.length },
    }),
    attack({
      id: 'priv-kernel-surface',
      category: 'privilege',
      title:
        'kernel attack surface: bpf, perf_event_open, userfaultfd, io_uring, keyrings, modules, kexec, the new mount API, pidfd_getfd',
      language: 'cpp',
      body: code`
#include <sys/syscall.h>

int main() {
  const struct { const char *name; long nr; } calls[] = {
${kernelCalls.map((c) => `      {"${c}", SYS_${c}},`).join('\n')}
${newerCalls.map(([c, nr]) => `      {"${c}", ${nr}},`).join('\n')}
  };
  for (const auto &c : calls) {
    errno = 0;
    long rc = syscall(c.nr, 0, 0, 0, 0, 0, 0);
    int e = errno;
    if (rc >= 0) {
      escaped(c.name, "succeeded (returned " + std::to_string(rc) + ")");
      close(static_cast<int>(rc));
    } else if (e == EPERM || e == ENOSYS) {
      blocked(c.name, en(e));
    } else {
      escaped(c.name, "reached the kernel (" + en(e) + "): the syscall filter let it through");
    }
  }
  return 0;
}
`,
      expect: {
        text: 'every call refused by the syscall filter (EPERM)',
        statuses: ['SUCCESS'],
        blocked: kernelCalls.length + newerCalls.length,
      },
    }),
    attack({
      id: 'priv-seccomp-bypass',
      category: 'privilege',
      title: 'slip past the syscall filter: i386 int 0x80, the x32 ABI, clone/clone3 with namespace flags',
      language: 'cpp',
      body: code`
#include <csignal>
#include <cstdint>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static char stack[64 * 1024];
static int child(void *) { _exit(0); }

// A raw i386 system call from this 64-bit process (its numbers differ from x86_64's).
static long int80(long nr, long a = 0, long b = 0) {
  long r;
  asm volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(0L), "S"(0L), "D"(0L) : "memory");
  return r;
}

// Returns -errno like the kernel: refused (EPERM/ENOSYS) or through.
static void raw(const std::string &what, long r) {
  if (r == -EPERM || r == -ENOSYS) blocked(what, en(static_cast<int>(-r)));
  else if (r < 0) escaped(what, "reached the kernel (" + en(static_cast<int>(-r)) + ")");
  else escaped(what, "succeeded (returned " + std::to_string(r) + ")");
}

// Each foreign-ABI call in a child of its own: a filter may answer it with an errno (printed by the
// child) or by killing the caller with SIGSYS (nsjail's Kafel kills on a foreign architecture),
// which only ends that child — so every probe still gives its line.
template <typename Call>
static void probe(const std::string &what, Call call) {
  pid_t pid = fork();
  if (pid == 0) {
    raw(what, call());
    _exit(0);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0) {
    escaped(what, "could not run the probe (" + en(errno) + ")");
  } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
    blocked(what, "killed by the syscall filter (SIGSYS)");
  } else if (WIFSIGNALED(status)) {
    escaped(what, "the probe died of signal " + std::to_string(WTERMSIG(status)) + ", not of the filter");
  }
}

int main() {
  probe("int 0x80 ptrace(PTRACE_TRACEME) (i386 nr 26)", [] { return int80(26, 0); });
  probe("int 0x80 unshare(CLONE_NEWUSER) (i386 nr 310)", [] { return int80(310, CLONE_NEWUSER); });
  // x32: the same call numbers with bit 30 set; ptrace is x32 nr 521.
  probe("x32 ptrace(PTRACE_TRACEME) (nr 0x40000000 | 521)", [] {
    errno = 0;
    long x = syscall(0x40000000L | 521, 0L, 0L, 0L, 0L);
    return x == -1 ? -errno : x;
  });

  int pid = clone(child, stack + sizeof stack, CLONE_NEWUSER | SIGCHLD, nullptr);
  if (pid < 0) {
    blocked("clone(CLONE_NEWUSER)", en(errno));
  } else {
    waitpid(pid, nullptr, 0);
    escaped("clone(CLONE_NEWUSER)", "a child in a new user namespace");
  }
  // struct clone_args, version 0 (64 bytes): flags, pidfd, child_tid, parent_tid, exit_signal, ...
  std::uint64_t args[8] = {CLONE_NEWUSER, 0, 0, 0, SIGCHLD, 0, 0, 0};
  long r = syscall(435, args, sizeof args);  // clone3
  if (r == 0) _exit(0);
  if (r > 0) {
    waitpid(static_cast<pid_t>(r), nullptr, 0);
    escaped("clone3(CLONE_NEWUSER)", "a child in a new user namespace");
  } else {
    blocked("clone3(CLONE_NEWUSER)", en(errno));
  }
  return 0;
}
`,
      expect: {
        text: 'other ABIs refused (killed by SIGSYS, or EPERM), namespace flags refused (EPERM / ENOSYS)',
        statuses: ['SUCCESS'],
        blocked: 5,
      },
    }),
    attack({
      id: 'priv-hostname',
      category: 'privilege',
      title: "change the hostname and domain name; see the host's hostname",
      language: 'python',
      body: code`
import ctypes
try:
    socket.sethostname('pwned-by-audit')
    escaped('sethostname("pwned-by-audit")', 'hostname is now ' + socket.gethostname())
except Exception as e:
    blocked('sethostname("pwned-by-audit")', why(e))
libc = ctypes.CDLL(None, use_errno=True)
if libc.setdomainname(b'pwned', 5) == 0:
    escaped('setdomainname("pwned")', 'succeeded')
else:
    blocked('setdomainname("pwned")', errno.errorcode.get(ctypes.get_errno(), '?'))
HOST = ${JSON.stringify(ctx.hostHostname)}
name = socket.gethostname()
if name == HOST:
    escaped('hostname', "the host's own name %r: no UTS namespace of its own" % name)
else:
    blocked('hostname', "%r, not the host's: a UTS namespace of its own" % name)
`,
      expect: { text: 'refused (EPERM); own hostname', statuses: ['SUCCESS'], blocked: 3 },
    }),
  ];
}
