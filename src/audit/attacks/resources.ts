import { OUTPUT_CAP_BYTES } from '../../worker/sandbox/limits.js';
import type { Attack, AttackContext } from '../types.js';
import { AUDIT_MEMORY_LIMIT_KB, attack, BOMB_TIME_LIMIT_MS, code } from './prelude.js';

/**
 * Resources: the limits of sentinel-tuning-guide.md "nsjail Sandbox Limits" (pids 64, memory
 * 256 MB, tmpfs 64 MB, 1 CPU, the job's wall clock) and the worker's output cap hold against
 * programs built to break them. What only the wall clock stops (the fork bomb, the loop) runs under
 * a small one so the audit stays short; what a limit ends by itself (thread and memory bombs, the
 * disk fill) keeps the probes' longer one, so a busy host cannot turn it into a TIMEOUT.
 */

const memoryMb = AUDIT_MEMORY_LIMIT_KB / 1024;

/**
 * stdout a flood may leave behind: the worker keeps OUTPUT_CAP_BYTES plus a one-line marker; twice
 * the cap is far below the 200 MB the program writes and above anything a working cap returns.
 */
export const FLOOD_MAX_STDOUT_BYTES = 2 * OUTPUT_CAP_BYTES;

export function resourceAttacks(ctx: AttackContext): Attack[] {
  return [
    attack({
      id: 'res-fork-bomb',
      category: 'resources',
      title: `fork bomb: fork until refused (pids limit ${ctx.pidsLimit}), then every process forks forever`,
      language: 'cpp',
      timeLimitMs: BOMB_TIME_LIMIT_MS,
      body: code`
#include <unistd.h>

int main() {
  const int limit = ${ctx.pidsLimit};
  int n = 0;
  for (int i = 0; i < 100000; i++) {
    pid_t p = fork();
    if (p == 0) {
      for (;;) pause();
    }
    if (p < 0) {
      int e = errno;
      if (n < limit) blocked("fork()", en(e) + " after " + std::to_string(n) + " processes (pids limit " + std::to_string(limit) + ")");
      else escaped("fork()", std::to_string(n) + " processes forked past the pids limit of " + std::to_string(limit));
      break;
    }
    n++;
  }
  if (n >= 100000) escaped("fork()", "100000 processes and counting");
  for (;;) fork();
}
`,
      expect: {
        text: `forks refused at the pids limit (${ctx.pidsLimit}); TIMEOUT`,
        statuses: ['TIMEOUT', 'RUNTIME_ERROR'],
        blocked: 1,
      },
    }),
    attack({
      id: 'res-thread-bomb',
      category: 'resources',
      title: `thread bomb: pthread_create with 64 KiB stacks until refused (pids limit ${ctx.pidsLimit})`,
      language: 'cpp',
      body: code`
#include <pthread.h>

static void *idle(void *) {
  for (;;) pause();
  return nullptr;
}

int main() {
  const int limit = ${ctx.pidsLimit};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  // Small stacks, so the address-space limit does not stop the bomb before the process limit does.
  pthread_attr_setstacksize(&attr, 64 * 1024);
  int n = 0, rc = 0;
  for (int i = 0; i < 100000; i++) {
    pthread_t t;
    rc = pthread_create(&t, &attr, idle, nullptr);
    if (rc != 0) break;
    n++;
  }
  if (rc != 0 && n < limit) blocked("pthread_create()", en(rc) + " after " + std::to_string(n) + " threads (pids limit " + std::to_string(limit) + ")");
  else escaped("pthread_create()", std::to_string(n) + " threads past the pids limit of " + std::to_string(limit));
  _exit(0);
}
`,
      expect: {
        text: `threads refused at the pids limit (${ctx.pidsLimit})`,
        statuses: ['SUCCESS', 'RUNTIME_ERROR', 'TIMEOUT'],
        blocked: 1,
      },
    }),
    attack({
      id: 'res-memory-bomb',
      category: 'resources',
      title: `memory bomb: fill 1 GB of memory in 16 MB blocks (limit ${memoryMb} MB)`,
      language: 'python',
      body: code`
blocks = []
for i in range(64):
    blocks.append(b'x' * (16 * 1024 * 1024))
    if (i + 1) % 4 == 0:
        print('INFO: holding %d MB' % ((i + 1) * 16), flush=True)
escaped('1024 MB', 'all of it held under a ${memoryMb} MB limit')
`,
      expect: { text: 'MEMORY_LIMIT_EXCEEDED', statuses: ['MEMORY_LIMIT_EXCEEDED'] },
    }),
    attack({
      id: 'res-memory-split',
      category: 'resources',
      title: `memory spread over 3 processes of 150 MB, each under the per-process limit (${memoryMb} MB)`,
      language: 'cpp',
      // Ends by itself in about a second, but filling memory against a full memory cgroup (reclaim,
      // then an OOM kill) slows down on a busy host: the contract's longest wall clock.
      timeLimitMs: 10_000,
      body: code`
#include <cstdlib>
#include <sys/wait.h>

int main() {
  const int kids = 3;
  const size_t mb = 150;
  for (int i = 0; i < kids; i++) {
    if (fork() == 0) {
      char *volatile block = static_cast<char *>(std::malloc(mb << 20));
      if (!block) _exit(3);
      std::memset(block, 1, mb << 20);
      usleep(500 * 1000);  // hold it while the others fill theirs
      _exit(block[(mb << 20) - 1] == 1 ? 0 : 4);
    }
  }
  int held = 0, killed = 0, failed = 0;
  for (int i = 0; i < kids; i++) {
    int status = 0;
    if (wait(&status) < 0) break;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) held++;
    else if (WIFSIGNALED(status)) killed++;
    else failed++;
  }
  std::string what = std::to_string(kids) + " processes x " + std::to_string(mb) + " MB";
  if (held == kids) escaped(what, "all held " + std::to_string(kids * mb) + " MB together under a ${memoryMb} MB limit");
  else blocked(what, std::to_string(held) + " held, " + std::to_string(killed) + " killed, " + std::to_string(failed) + " could not allocate");
  return 0;
}
`,
      expect: {
        text: 'MEMORY_LIMIT_EXCEEDED (the memory cgroup kills)',
        statuses: ['MEMORY_LIMIT_EXCEEDED'],
      },
    }),
    attack({
      id: 'res-disk-fill',
      category: 'resources',
      title: `disk fill: write /tmp (limit ${ctx.tmpfsMb} MB) and /dev/shm until refused`,
      language: 'python',
      body: code`
LIMIT = ${ctx.tmpfsMb}
MB = 1024 * 1024
def fill(pattern):
    total, chunk = 0, b'x' * MB
    # Bounded at 4 x the limit; 16 MB per file keeps each file under the file-size limit.
    for i in range(4 * LIMIT):
        fd = None
        try:
            fd = os.open(pattern % (i // 16), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            total += os.write(fd, chunk)
        except OSError as e:
            return total, why(e)
        finally:
            if fd is not None:
                os.close(fd)
    return total, None
for pattern in ['/tmp/fill-%d', '/dev/shm/fill-%d']:
    what = 'fill ' + pattern.rsplit('/', 1)[0]
    total, err = fill(pattern)
    if err is None or total > LIMIT * MB:
        escaped(what, 'wrote %.1f MB, more than the %d MB of /tmp' % (total / MB, LIMIT))
    else:
        blocked(what, '%s after %.1f MB (at most the %d MB of /tmp)' % (err, total / MB, LIMIT))
`,
      expect: {
        text: `writes refused (ENOSPC / EFBIG) at or below ${ctx.tmpfsMb} MB`,
        statuses: ['SUCCESS'],
        blocked: 2,
      },
    }),
    attack({
      id: 'res-infinite-loop',
      category: 'resources',
      title: `infinite loop (time limit ${BOMB_TIME_LIMIT_MS} ms)`,
      language: 'python',
      timeLimitMs: BOMB_TIME_LIMIT_MS,
      body: code`
print('INFO: looping', flush=True)
while True:
    pass
`,
      expect: { text: 'TIMEOUT', statuses: ['TIMEOUT'] },
    }),
    attack({
      id: 'res-output-flood',
      category: 'resources',
      title: 'output flood: 200 MB on stdout',
      language: 'python',
      body: code`
print('INFO: flooding 200 MB', flush=True)
chunk = 'x' * 65536
for _ in range(3200):
    sys.stdout.write(chunk)
sys.stdout.flush()
`,
      expect: {
        text: `RUNTIME_ERROR; stdout cut at ${OUTPUT_CAP_BYTES} bytes`,
        statuses: ['RUNTIME_ERROR'],
        maxStdoutBytes: FLOOD_MAX_STDOUT_BYTES,
        evidence: /output limit|truncated/i,
      },
    }),
  ];
}
