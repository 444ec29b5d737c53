import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BwrapDriver } from '../../../src/worker/sandbox/bwrap.js';
import { OUTPUT_CAP_BYTES } from '../../../src/worker/sandbox/limits.js';
import { runJob } from '../../../src/worker/sandbox/run-job.js';
import { DEFAULT_UID_BASE } from '../../../src/worker/sandbox/slots.js';
import { TRUNCATED_MARK } from '../../../src/worker/sandbox/status.js';
import type { DriverInfo, JobInput } from '../../../src/worker/sandbox/types.js';
import { FORK_BOMB_PY } from './programs.js';

// Real bubblewrap, python3 and g++. Every hostile program here runs inside the sandbox only.

const SLOTS = 4;
const driver = new BwrapDriver({ slots: SLOTS });
let info: DriverInfo;
const SECRET = 'postgres://sentinel:s3cret-in-worker-env@127.0.0.1:5432/sentinel';

beforeAll(async () => {
  // What a worker holds in its environment must not reach a program.
  process.env.DATABASE_URL = SECRET;
  info = await driver.init();
});
afterAll(async () => {
  await driver.close();
  delete process.env.DATABASE_URL;
});

const py = (source: string, extra: Partial<JobInput> = {}): JobInput => ({
  language: 'python',
  source,
  stdin: '',
  timeLimitMs: 5000,
  memoryLimitKb: 262_144,
  ...extra,
});
const cpp = (source: string, extra: Partial<JobInput> = {}): JobInput => ({
  ...py(source, extra),
  language: 'cpp',
});
const run = (job: JobInput, slot = 0) => runJob(job, { driver, slot });

/** Host processes running as a slot's uid (the sandbox's processes, seen from outside). */
function hostProcessesOfSlot(slot: number): number {
  let count = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (Number(uid) === DEFAULT_UID_BASE + slot) count++;
    } catch {}
  }
  return count;
}

describe('bwrap driver on this host', () => {
  test('uses the v1 cgroups of this machine, with nothing degraded', () => {
    expect(info).toEqual({ name: 'bwrap', cgroups: 'v1', warnings: [] });
  });
});

describe('programs that behave', () => {
  test('Python hello world', async () => {
    const r = await run(py('print("hello, world")'));
    expect(r).toMatchObject({ status: 'SUCCESS', stdout: 'hello, world\n', stderr: '', exitCode: 0 });
    expect(r.memoryUsedKb).toBeGreaterThan(0);
    expect(r.timeUsedMs).toBeGreaterThan(0);
  });

  test('C++ hello world, compiled then run', async () => {
    const phases: string[] = [];
    const r = await runJob(
      cpp('#include <iostream>\nint main() { std::cout << "hello, c++" << std::endl; }'),
      {
        driver,
        slot: 0,
        onPhase: (p) => {
          phases.push(p);
        },
      },
    );
    expect(r).toMatchObject({ status: 'SUCCESS', stdout: 'hello, c++\n', stderr: '', exitCode: 0 });
    expect(phases).toEqual(['COMPILING', 'RUNNING']);
  });

  test('stdin reaches Python', async () => {
    const r = await run(
      py('import sys\nfor line in sys.stdin: print(line.strip()[::-1])', { stdin: 'abc\nxyz\n' }),
    );
    expect(r).toMatchObject({ status: 'SUCCESS', stdout: 'cba\nzyx\n' });
  });

  test('stdin reaches C++', async () => {
    const r = await run(
      cpp('#include <iostream>\nint main() { long a, b; std::cin >> a >> b; std::cout << a + b << "\\n"; }', {
        stdin: '40 2\n',
      }),
    );
    expect(r).toMatchObject({ status: 'SUCCESS', stdout: '42\n' });
  });

  test('a large stdin the program never reads does not hang the run', async () => {
    const r = await run(py('print("ignored")', { stdin: 'x'.repeat(1024 * 1024) }));
    expect(r).toMatchObject({ status: 'SUCCESS', stdout: 'ignored\n' });
  });
});

describe('programs that fail', () => {
  test('C++ compile error → COMPILATION_ERROR with the compiler message', async () => {
    const r = await run(cpp('int main() { return undeclared; }'));
    expect(r.status).toBe('COMPILATION_ERROR');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('/src/main.cpp:1:21: error: ‘undeclared’ was not declared in this scope');
  });

  test.each([
    { what: 'Python sys.exit(3)', job: py('import sys\nsys.exit(3)'), exitCode: 3 },
    { what: 'Python uncaught exception', job: py('raise ValueError("boom")'), exitCode: 1 },
    { what: 'C++ return 42', job: cpp('int main() { return 42; }'), exitCode: 42 },
    {
      what: 'C++ abort() (SIGABRT = 6)',
      job: cpp('#include <cstdlib>\nint main() { std::abort(); }'),
      exitCode: 134,
    },
    {
      what: 'C++ null dereference (SIGSEGV = 11)',
      job: cpp('int main() { volatile int *p = nullptr; return *p; }'),
      exitCode: 139,
    },
  ])('$what → RUNTIME_ERROR, exit $exitCode', async ({ job, exitCode }) => {
    const r = await run(job);
    expect(r.status).toBe('RUNTIME_ERROR');
    expect(r.exitCode).toBe(exitCode);
  });

  test('Python traceback is kept on stderr', async () => {
    const r = await run(py('raise ValueError("boom")'));
    expect(r.stderr).toContain('ValueError: boom');
  });
});

describe('limits', () => {
  test('infinite loop → TIMEOUT at the job time limit', async () => {
    const r = await run(py('while True: pass', { timeLimitMs: 1000 }));
    expect(r.status).toBe('TIMEOUT');
    expect(r.exitCode).toBe(137);
    // Never stopped before the limit, and stopped by the job's limit, not the guide's 10 s (the
    // message names the limit that fired; no wall-clock bound on a shared machine).
    expect(r.timeUsedMs).toBeGreaterThanOrEqual(1000);
    expect(r.stderr).toContain('wall-clock limit of 1000 ms reached');
  });

  test('C++ infinite loop → TIMEOUT', async () => {
    const r = await run(
      cpp('int main() { volatile unsigned long n = 0; for (;;) n++; }', { timeLimitMs: 1000 }),
    );
    expect(r.status).toBe('TIMEOUT');
  });

  test('sleeping past the limit (no CPU used) → TIMEOUT', async () => {
    const r = await run(py('import time\ntime.sleep(30)', { timeLimitMs: 1000 }));
    expect(r.status).toBe('TIMEOUT');
  });

  test('1 GB allocation in Python → MEMORY_LIMIT_EXCEEDED (MemoryError under RLIMIT_AS)', async () => {
    const r = await run(py('x = bytearray(1024 ** 3)\nprint(len(x))'));
    expect(r.status).toBe('MEMORY_LIMIT_EXCEEDED');
    expect(r.stdout).toBe('');
  });

  test('1 GB allocation in C++ → MEMORY_LIMIT_EXCEEDED (std::bad_alloc)', async () => {
    const r = await run(
      // volatile: -O2 may otherwise elide an allocation whose result it can predict.
      cpp(
        '#include <cstring>\nint main() { char *volatile p = new char[1UL << 30]; std::memset(p, 1, 1UL << 30); return p[7]; }',
      ),
    );
    expect(r.status).toBe('MEMORY_LIMIT_EXCEEDED');
  });

  test('memory spread over processes, each under its own limit → the memory cgroup kills → MEMORY_LIMIT_EXCEEDED', async () => {
    // Four children touch 150 MB each: every one is under RLIMIT_AS (256 MB), the tree is not
    // under the slot's 320 MB cgroup.
    const source = [
      'import os, time',
      'kids = []',
      'for _ in range(4):',
      '    pid = os.fork()',
      '    if pid == 0:',
      "        block = b'x' * (150 * 1024 * 1024)",
      '        time.sleep(5)',
      '        os._exit(0)',
      '    kids.append(pid)',
      'for pid in kids: os.waitpid(pid, 0)',
      'print("survived")',
    ].join('\n');
    // Slot 1 has run nothing yet, so no page cache from earlier steps sits under the peak.
    const r = await run(py(source, { timeLimitMs: 8000 }), 1);
    expect(r.status).toBe('MEMORY_LIMIT_EXCEEDED');
    expect(r.memoryUsedKb).toBeGreaterThan(256 * 1024);
    expect(r.memoryUsedKb).toBeLessThanOrEqual(320 * 1024);
  });

  test('fork bomb is held at pids.max (64) although the worker runs as root, and leaves nothing behind', async () => {
    const r = await run(py(FORK_BOMB_PY, { timeLimitMs: 2000 }));
    expect(r.status).toBe('TIMEOUT');
    // pids.max is 64 and three are bwrap outside, bwrap's init (pid 1) and python: at most 61
    // children, and fork fails with EAGAIN once the cgroup is full.
    const [forks, errno] = r.stdout.trim().split(' ');
    expect(errno).toBe('EAGAIN');
    expect(Number(forks)).toBeGreaterThan(50);
    expect(Number(forks)).toBeLessThanOrEqual(61);
    expect(hostProcessesOfSlot(0)).toBe(0);
  });

  test('output flood (200 MB) is capped at 64 KiB and stopped; the worker keeps its memory', async () => {
    const before = process.memoryUsage().rss;
    const r = await run(py("import sys\nfor _ in range(3200): sys.stdout.write('x' * 65536)"));
    expect(r.status).toBe('RUNTIME_ERROR');
    expect(r.stdout).toBe('x'.repeat(OUTPUT_CAP_BYTES) + TRUNCATED_MARK);
    expect(r.stderr).toContain('output limit exceeded');
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  test('stderr flood is capped the same way', async () => {
    const r = await run(py("import sys\nwhile True: sys.stderr.write('e' * 4096)"));
    expect(r.status).toBe('RUNTIME_ERROR');
    expect(r.stderr.startsWith('e'.repeat(OUTPUT_CAP_BYTES) + TRUNCATED_MARK)).toBe(true);
  });

  test('/tmp is the only writable place and holds 64 MB', async () => {
    const source = [
      'import errno',
      'def attempt(path):',
      '    try:',
      "        with open(path, 'w') as f: f.write('x')",
      "        return 'ok'",
      '    except OSError as e:',
      '        return errno.errorcode[e.errno]',
      "for p in ['/escape', '/usr/escape', '/etc/escape', '/src/main.py', '/src/new', '/out/new', '/dev/escape',",
      "          '/proc/sys/kernel/hostname', '/tmp/fine']:",
      '    print(p, attempt(p))',
      'try:',
      "    with open('/tmp/fill', 'wb') as f:",
      '        for _ in range(100): f.write(b"x" * (1024 * 1024))',
      "    print('fill ok')",
      'except OSError as e:',
      "    print('fill', errno.errorcode[e.errno])",
    ].join('\n');
    const r = await run(py(source));
    expect(r.status).toBe('SUCCESS');
    expect(r.stdout).toBe(
      [
        '/escape EROFS',
        '/usr/escape EROFS',
        '/etc/escape EROFS',
        '/src/main.py EROFS',
        '/src/new EROFS',
        '/out/new EROFS',
        '/dev/escape EROFS',
        '/proc/sys/kernel/hostname EACCES',
        '/tmp/fine ok',
        'fill ENOSPC',
        '',
      ].join('\n'),
    );
  });
});

describe('isolation', () => {
  test('no network: the host loopback is unreachable and only lo exists', async () => {
    let connections = 0;
    const server = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const source = [
      'import socket, errno',
      'def tcp(host, port):',
      '    s = socket.socket()',
      '    s.settimeout(2)',
      '    try:',
      '        s.connect((host, port))',
      "        return 'connected'",
      '    except OSError as e:',
      '        return errno.errorcode.get(e.errno, str(e))',
      `print('loopback', tcp('127.0.0.1', ${port}))`,
      "print('outside', tcp('1.1.1.1', 53))",
      'try:',
      "    socket.getaddrinfo('example.com', 80)",
      "    print('dns ok')",
      'except OSError:',
      "    print('dns failed')",
      'print(sorted(name for _, name in socket.if_nameindex()))',
    ].join('\n');
    const r = await run(py(source));
    server.close();
    expect(r.stdout).toBe("loopback ECONNREFUSED\noutside ENETUNREACH\ndns failed\n['lo']\n");
    expect(connections).toBe(0);
  });

  test('ptrace, mount, unshare, setns, bpf and friends are refused with EPERM (seccomp)', async () => {
    // Harmless arguments where possible (PTRACE_TRACEME, unshare(0)): without the filter they succeed.
    const source = [
      'import ctypes, errno, os',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'def sys_(name, nr, *args):',
      '    r = libc.syscall(nr, *args)',
      "    print(name, 'ok' if r >= 0 else errno.errorcode[ctypes.get_errno()])",
      "sys_('ptrace', 101, 0, 0, 0, 0)",
      'sys_(\'mount\', 165, b"none", b"/tmp", b"tmpfs", 0, 0)',
      "sys_('umount2', 166, b'/tmp', 0)",
      "sys_('chroot', 161, b'/tmp')",
      "sys_('pivot_root', 155, b'/tmp', b'/tmp')",
      "sys_('unshare', 272, 0)",
      "sys_('unshare', 272, 0x10000000)",
      "sys_('setns', 308, 0, 0)",
      "sys_('clone', 56, 0x10000000 | 17, 0, 0, 0, 0)",
      "sys_('bpf', 321, 0, 0, 0)",
      "sys_('perf_event_open', 298, 0, 0, -1, -1, 0)",
      "sys_('keyctl', 250, 0, 0, 0, 0, 0)",
      "sys_('kexec_load', 246, 0, 0, 0, 0)",
      "sys_('init_module', 175, 0, 0, 0)",
      "sys_('reboot', 169, 0, 0, 0, 0)",
      "sys_('swapon', 167, b'/tmp/x', 0)",
      "sys_('getpid', 39)",
    ].join('\n');
    const r = await run(py(source));
    expect(r.stdout).toBe(
      [
        'ptrace EPERM',
        'mount EPERM',
        'umount2 EPERM',
        'chroot EPERM',
        'pivot_root EPERM',
        'unshare EPERM',
        'unshare EPERM',
        'setns EPERM',
        'clone EPERM',
        'bpf EPERM',
        'perf_event_open EPERM',
        'keyctl EPERM',
        'kexec_load EPERM',
        'init_module EPERM',
        'reboot EPERM',
        'swapon EPERM',
        'getpid ok',
        '',
      ].join('\n'),
    );
  });

  test('ptrace from C++ is refused too', async () => {
    const r = await run(
      cpp(
        '#include <sys/ptrace.h>\n#include <cerrno>\n#include <cstdio>\nint main() { long r = ptrace(PTRACE_TRACEME, 0, nullptr, nullptr); std::printf("%ld %d\\n", r, errno); }',
      ),
    );
    expect(r).toMatchObject({ status: 'SUCCESS', stdout: '-1 1\n' });
  });

  test('no host processes, no worker environment, not root, own hostname', async () => {
    const source = [
      'import errno, os, socket',
      "print(sorted(p for p in os.listdir('/proc') if p.isdigit()))",
      'print(sorted(os.environ))',
      "print(open('/proc/1/environ').read().replace('\\0', ' ').strip())",
      'print(os.getuid(), os.getgid(), os.geteuid())',
      'print(socket.gethostname())',
      'try:',
      '    os.setuid(0)',
      "    print('became root')",
      'except OSError as e:',
      "    print('setuid', errno.errorcode[e.errno])",
      "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])",
    ].join('\n');
    const r = await run(py(source), 2);
    expect(r.status).toBe('SUCCESS');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe("['1', '2']");
    expect(lines[1]).toBe("['HOME', 'LANG', 'PATH', 'PWD', 'PYTHONDONTWRITEBYTECODE', 'TMPDIR']");
    // bwrap's pid 1 shows the launcher's environment: only PATH, and PWD=/ (not the worker's).
    expect(lines[2]).toBe('PATH=/usr/bin:/bin PWD=/');
    expect(lines[3]).toBe('1000 1000 1000');
    expect(lines[4]).toBe('sentinel');
    // uid 0 does not exist in the sandbox's user namespace, and no capability is left.
    expect(lines[5]).toBe('setuid EINVAL');
    expect(lines[6]).toBe('0000000000000000');
    expect(r.stdout).not.toContain('s3cret');
    expect(r.stdout).not.toContain('DATABASE_URL');
  });

  test('host secrets and paths outside the mounts are not there', async () => {
    const source = [
      'import os',
      "for p in ['/etc/shadow', '/etc/hostname', '/root', '/home', '/var', '/work', '/sys', '/run']:",
      '    print(p, os.path.exists(p))',
      "print(open('/etc/passwd').read().strip())",
    ].join('\n');
    const r = await run(py(source));
    expect(r.stdout).toBe(
      [
        '/etc/shadow False',
        '/etc/hostname False',
        '/root False',
        '/home False',
        '/var False',
        '/work False',
        '/sys False',
        '/run False',
        'sandbox:x:1000:1000:sandbox:/tmp:/usr/sbin/nologin',
        '',
      ].join('\n'),
    );
  });
});

describe('slots', () => {
  test('4 jobs run at once on 4 slots', async () => {
    const jobs = Array.from({ length: SLOTS }, (_, slot) =>
      run(
        py(`import time, sys\ntime.sleep(3)\nprint("slot", sys.stdin.read())`, { stdin: String(slot) }),
        slot,
      ),
    );
    // Observed, not timed: at some moment every slot's uid has processes on the host.
    let allAtOnce = false;
    for (let i = 0; i < 200 && !allAtOnce; i++) {
      allAtOnce = Array.from({ length: SLOTS }, (_, s) => hostProcessesOfSlot(s) > 0).every(Boolean);
      if (!allAtOnce) await new Promise((r) => setTimeout(r, 25));
    }
    const results = await Promise.all(jobs);
    // Seen from the host, each slot's processes run as its own unprivileged uid (1900000000 + n).
    expect(allAtOnce).toBe(true);
    expect(results.map((r) => [r.status, r.stdout])).toEqual([
      ['SUCCESS', 'slot 0\n'],
      ['SUCCESS', 'slot 1\n'],
      ['SUCCESS', 'slot 2\n'],
      ['SUCCESS', 'slot 3\n'],
    ]);
  });

  test('a slot refuses a second step while busy', async () => {
    const first = run(py('import time\ntime.sleep(1)'), 1);
    await expect(run(py('print(1)'), 1)).rejects.toThrow('slot 1 is already running a step');
    expect((await first).status).toBe('SUCCESS');
  });

  test('a file left in /tmp by one job is gone for the next', async () => {
    await run(py("open('/tmp/leftover', 'w').write('x')"), 3);
    const r = await run(py("import os\nprint(os.path.exists('/tmp/leftover'))"), 3);
    expect(r.stdout).toBe('False\n');
  });
});
