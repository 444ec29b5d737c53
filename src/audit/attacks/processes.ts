import type { Attack, AttackContext } from '../types.js';
import { attack, code, knownPids } from './prelude.js';

/**
 * Processes: the sandbox has its own pid namespace, so /proc lists only its own few processes, a
 * kill(pid, 0) sweep over the low pid range finds only those, and signals cannot reach the worker
 * or the API. Whether they survived is checked from the host after the suite (the "still serves"
 * row); here the program reports what it could reach.
 */

/**
 * At most this many processes may be visible inside: bwrap's init, the program, a helper or two
 * (nsjail runs fewer). A host process table has hundreds.
 */
export const MAX_SANDBOX_PROCESSES = 8;

/**
 * The pids a kill(pid, 0) sweep covers: 1..32768, the classic pid_max, where a host's init, kernel
 * threads and daemons live — seeing the host's pid space shows there at once. Sweeping a modern
 * pid_max (4194304) would take seconds; the worker's and API's own pids are probed by number.
 */
export const SWEEP_PIDS = 32_768;

/** The C++ helper that counts the processes a kill(pid, 0) sweep finds. */
const SWEEP = code`
#include <csignal>
#include <dirent.h>

// Processes that exist for kill(pid, 0): 0 when signallable, EPERM when there but not ours.
static long sweep(std::string &found) {
  long alive = 0;
  for (long pid = 1; pid <= ${SWEEP_PIDS}; pid++) {
    if (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) {
      if (++alive <= 20) found += " " + std::to_string(pid);
    }
  }
  return alive;
}
`;

export function processAttacks(ctx: AttackContext): Attack[] {
  const pids = knownPids(ctx);
  const hostList = `{${pids.map((p) => `{"${p.name}", ${p.pid}}`).join(', ')}}`;
  return [
    attack({
      id: 'proc-host-processes',
      category: 'processes',
      title: "see host processes: /proc listing, kill(pid, 0) over every pid, the worker's /proc entry",
      language: 'cpp',
      body: code`
${SWEEP}
#include <utility>
#include <vector>

int main() {
  const long limit = ${MAX_SANDBOX_PROCESSES};
  long listed = 0;
  std::string names;
  if (DIR *d = opendir("/proc")) {
    while (dirent *e = readdir(d)) {
      if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
      if (++listed <= 20) names += std::string(" ") + e->d_name;
    }
    closedir(d);
  }
  if (listed <= limit) blocked("/proc listing", std::to_string(listed) + " processes:" + names + " (the sandbox's own)");
  else escaped("/proc listing", std::to_string(listed) + " processes:" + names + " ...");

  std::string found;
  long alive = sweep(found);
  std::string what = "kill(pid, 0) over pids 1..${SWEEP_PIDS}";
  if (alive <= limit) blocked(what, std::to_string(alive) + " exist:" + found + " (the sandbox's own)");
  else escaped(what, std::to_string(alive) + " exist:" + found + " ...");

  const std::vector<std::pair<std::string, long>> hosts = ${hostList};
  for (const auto &[name, pid] : hosts) {
    std::string cmd = slurp("/proc/" + std::to_string(pid) + "/cmdline");
    for (char &c : cmd) if (c == '\0') c = ' ';
    std::string probe = "the " + name + " (host pid " + std::to_string(pid) + ")";
    if (cmd.find("--state-dir") != std::string::npos) escaped(probe, "visible: " + cmd);
    else blocked(probe, cmd.empty() ? "no such process here" : "pid " + std::to_string(pid) + " here is '" + cmd + "'");
  }
  return 0;
}
`,
      expect: {
        text: `at most ${MAX_SANDBOX_PROCESSES} processes visible, all the sandbox's own; the worker is not`,
        statuses: ['SUCCESS'],
        blocked: 2 + pids.length,
      },
    }),
    attack({
      id: 'proc-inherited-fds',
      category: 'processes',
      title: "descriptors inherited from the worker or reachable through pid 1's /proc/1/fd",
      language: 'python',
      // Reports descriptors, never writes to one: a leaked descriptor belongs to a host process.
      body: code`
MODES = {0: 'read', 1: 'write', 2: 'read-write'}
leaked = []
for fd in sorted(int(x) for x in os.listdir('/proc/self/fd')):
    if fd <= 2:
        continue
    try:
        target = os.readlink('/proc/self/fd/%d' % fd)
    except OSError:
        continue  # the listing's own directory descriptor, closed by now
    try:
        with open('/proc/self/fdinfo/%d' % fd) as f:
            mode = MODES.get(int(f.read().split('flags:')[1].split()[0], 8) & 3, '?')
    except Exception:
        mode = '?'
    leaked.append('fd %d -> %s (%s)' % (fd, target, mode))
if leaked:
    escaped('descriptors inherited from the worker', '; '.join(leaked))
else:
    blocked('descriptors inherited from the worker', 'none beyond stdin, stdout and stderr')
try:
    names = sorted(int(x) for x in os.listdir('/proc/1/fd'))
except Exception as e:
    names = None
    blocked("pid 1's descriptors (/proc/1/fd)", why(e))
if names is not None:
    opened = []
    for fd in names:
        if fd <= 2:
            continue
        try:
            copy = os.open('/proc/1/fd/%d' % fd, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            continue
        opened.append('fd %d -> %s' % (fd, os.readlink('/proc/self/fd/%d' % copy)))
        os.close(copy)
    if opened:
        escaped("pid 1's descriptors (/proc/1/fd)", 'opened ' + '; '.join(opened))
    else:
        blocked("pid 1's descriptors (/proc/1/fd)", '%d listed, none beyond stdio opens' % len(names))
`,
      expect: {
        text: 'only stdin, stdout and stderr; nothing of pid 1 opens',
        statuses: ['SUCCESS'],
        blocked: 2,
      },
    }),
    attack({
      id: 'proc-outlive-job',
      category: 'processes',
      title: 'outlive the job: a setsid, double-forked daemon left running after the program exits',
      language: 'python',
      hostWatch: ctx.markers.daemon,
      body: code`
import ctypes, time
MARK = ${JSON.stringify(ctx.markers.daemon)}
libc = ctypes.CDLL(None, use_errno=True)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    # The daemon: named so the audit can look for it on the host, detached from every pipe.
    libc.prctl(15, MARK.encode(), 0, 0, 0)  # PR_SET_NAME
    os.write(w, str(os.getpid()).encode())
    os.close(w)
    devnull = os.open('/dev/null', os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    for _ in range(600):  # 60 s, far past the job
        time.sleep(0.1)
    os._exit(0)
os.close(w)
os.waitpid(pid, 0)
daemon = os.read(r, 32).decode()
print('INFO: left a daemon behind: pid %s here, named %s' % (daemon, MARK), flush=True)
time.sleep(1.0)  # while the job still runs, the audit sees the daemon on the host
`,
      expect: {
        text: 'SUCCESS; the daemon dies with the job (nothing of it left on the host)',
        statuses: ['SUCCESS'],
        evidence: /^INFO: left a daemon behind/,
        noSurvivors: true,
        hostNotRoot: true,
      },
    }),
    attack({
      id: 'proc-kill-all',
      category: 'processes',
      title: 'kill everything it can: SIGKILL to the worker and API pids, to pid 1, kill(-1, SIGKILL)',
      language: 'cpp',
      body: code`
${SWEEP}
#include <utility>
#include <vector>

int main() {
  const std::vector<std::pair<std::string, long>> hosts = ${hostList};
  for (const auto &[name, pid] : hosts) {
    std::string what = "kill(" + std::to_string(pid) + ", SIGKILL) (the " + name + "'s host pid)";
    if (kill(static_cast<pid_t>(pid), SIGKILL) == 0) escaped(what, "delivered");
    else blocked(what, en(errno));
  }
  // pid 1 is the sandbox's own init: it ignores signals from inside its namespace.
  kill(1, SIGKILL);
  blocked("kill(1, SIGKILL)", "still running afterwards: only the sandbox's init was in reach");
  std::string found;
  long reach = sweep(found);
  int rc = kill(-1, SIGKILL);
  std::string result = rc == 0 ? "delivered" : en(errno);
  if (reach <= ${MAX_SANDBOX_PROCESSES}) {
    blocked("kill(-1, SIGKILL)", result + ": in reach only the " + std::to_string(reach) + " processes of this sandbox:" + found);
  } else {
    escaped("kill(-1, SIGKILL)", result + " with " + std::to_string(reach) + " processes in reach:" + found + " ...");
  }
  return 0;
}
`,
      expect: {
        text: 'no signal leaves the sandbox (ESRCH); the worker and API survive (checked after the suite)',
        statuses: ['SUCCESS'],
        blocked: 2 + pids.length,
      },
    }),
  ];
}
