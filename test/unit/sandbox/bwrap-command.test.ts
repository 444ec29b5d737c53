import { describe, expect, test } from 'vitest';
import { buildBwrapCommand, parseBwrapStatus, SANDBOX_ENV } from '../../../src/worker/sandbox/bwrap.js';
import { stepLimits } from '../../../src/worker/sandbox/limits.js';

const input = {
  bwrapPath: '/usr/bin/bwrap',
  limits: stepLimits('python', { timeLimitMs: 2000, memoryLimitKb: 262_144 }),
  argv: ['/usr/bin/python3', '/src/main.py'],
  srcDir: '/w/slot-1/src',
  outDir: '/w/slot-1/out',
  out: 'ro' as const,
  passwdFile: '/w/slot-1/passwd',
  groupFile: '/w/slot-1/group',
  hostUid: 1_900_000_001,
  cgroupProcs: ['/cg/memory/s/cgroup.procs', '/cg/pids/s/cgroup.procs', '/cg/cpu/s/cgroup.procs'],
  seccompFd: 3,
  statusFd: 4,
};

/** The value following a flag, e.g. argsAfter('--chdir') → '/tmp'. */
function argsAfter(args: string[], flag: string, n = 1): string[] {
  const i = args.indexOf(flag);
  return i < 0 ? [] : args.slice(i + 1, i + 1 + n);
}

describe('buildBwrapCommand', () => {
  const { file, args } = buildBwrapCommand(input);
  const bwrapAt = args.indexOf('/usr/bin/bwrap');
  const bwrap = args.slice(bwrapAt + 1);

  test('joins the cgroups in a shell, then prlimit, setpriv and bwrap, in that order', () => {
    expect(file).toBe('/bin/sh');
    expect(args.slice(0, 8)).toEqual([
      '-c',
      'while [ "$1" != -- ]; do echo 0 > "$1" || exit 125; shift; done; shift; exec "$@"',
      'sentinel-sandbox',
      ...input.cgroupProcs,
      '--',
      '/usr/bin/prlimit',
    ]);
    const prlimitEnd = args.indexOf('--', 7);
    expect(args.slice(7, prlimitEnd)).toEqual([
      '/usr/bin/prlimit',
      `--as=${262_144 * 1024}`,
      '--cpu=3:4',
      `--fsize=${64 * 1024 * 1024}`,
      '--nofile=64',
      '--core=0',
    ]);
    expect(args.slice(prlimitEnd + 1, bwrapAt)).toEqual([
      '/usr/bin/setpriv',
      '--reuid=1900000001',
      '--regid=1900000001',
      '--clear-groups',
      '--inh-caps=-all',
      '--',
    ]);
  });

  test('namespaces: all of them, a user namespace for sure, none nested, uid 1000 inside', () => {
    expect(bwrap.slice(0, 3)).toEqual(['--unshare-all', '--unshare-user', '--disable-userns']);
    expect(bwrap).not.toContain('--share-net');
    expect(argsAfter(bwrap, '--uid')).toEqual(['1000']);
    expect(argsAfter(bwrap, '--gid')).toEqual(['1000']);
  });

  test('filesystem: read-only system, one size-limited tmpfs, read-only root and /dev', () => {
    expect(argsAfter(bwrap, '--ro-bind', 2)).toEqual(['/usr', '/usr']);
    expect(bwrap).not.toContain('--bind');
    expect(bwrap).not.toContain('--dev-bind');
    const tmp = bwrap.indexOf('/tmp', bwrap.indexOf('--tmpfs') + 1);
    expect(bwrap.slice(tmp - 3, tmp + 1)).toEqual(['--size', String(64 * 1024 * 1024), '--tmpfs', '/tmp']);
    expect(bwrap.slice(bwrap.indexOf('/dev/shm') - 3, bwrap.indexOf('/dev/shm') + 1)).toEqual([
      '--size',
      String(4 * 1024 * 1024),
      '--tmpfs',
      '/dev/shm',
    ]);
    const remounts = bwrap.flatMap((a, i) => (a === '--remount-ro' ? [bwrap[i + 1]] : []));
    expect(remounts).toEqual(['/dev', '/']);
    // The root is remounted after every mount under it.
    expect(bwrap.lastIndexOf('--remount-ro')).toBeGreaterThan(bwrap.indexOf('/src'));
    expect(bwrap.slice(bwrap.indexOf('/src') - 2, bwrap.indexOf('/src') + 1)).toEqual([
      '--ro-bind',
      '/w/slot-1/src',
      '/src',
    ]);
    expect(bwrap.slice(bwrap.indexOf('/out') - 2, bwrap.indexOf('/out') + 1)).toEqual([
      '--ro-bind',
      '/w/slot-1/out',
      '/out',
    ]);
  });

  test('process: fresh /proc, clean environment, own session, dies with the worker, no caps', () => {
    expect(argsAfter(bwrap, '--proc')).toEqual(['/proc']);
    expect(bwrap).toContain('--clearenv');
    const env = bwrap.flatMap((a, i) => (a === '--setenv' ? [`${bwrap[i + 1]}=${bwrap[i + 2]}`] : []));
    expect(env).toEqual(Object.entries(SANDBOX_ENV).map(([k, v]) => `${k}=${v}`));
    expect(bwrap).toContain('--new-session');
    expect(bwrap).toContain('--die-with-parent');
    expect(argsAfter(bwrap, '--cap-drop')).toEqual(['ALL']);
    expect(argsAfter(bwrap, '--seccomp')).toEqual(['3']);
    expect(argsAfter(bwrap, '--json-status-fd')).toEqual(['4']);
    expect(argsAfter(bwrap, '--chdir')).toEqual(['/tmp']);
  });

  test('the program comes last, after --', () => {
    expect(bwrap.slice(-3)).toEqual(['--', '/usr/bin/python3', '/src/main.py']);
  });

  test('compilation gets a writable /out', () => {
    const compile = buildBwrapCommand({ ...input, out: 'rw' }).args;
    expect(compile.slice(compile.indexOf('/out') - 2, compile.indexOf('/out') + 1)).toEqual([
      '--bind',
      '/w/slot-1/out',
      '/out',
    ]);
  });

  test('without cgroups or root: no shell, no setpriv, RLIMIT_NPROC holds the process count', () => {
    const bare = buildBwrapCommand({ ...input, cgroupProcs: [], hostUid: undefined, nprocLimit: 64 });
    expect(bare.file).toBe('/usr/bin/prlimit');
    expect(bare.args).toContain('--nproc=64');
    expect(bare.args).not.toContain('/usr/bin/setpriv');
    expect(bare.args[bare.args.indexOf('--') + 1]).toBe('/usr/bin/bwrap');
  });
});

describe('parseBwrapStatus', () => {
  test.each([
    ['', { started: false }],
    ['{ "child-pid": 10175, "pid-namespace": 4026532181 }\n', { started: true }],
    ['{ "child-pid": 10175 }\n{ "exit-code": 139 }\n', { started: true, exitCode: 139 }],
    ['{ "child-pid": 1 }\n{ "exit-co', { started: true }],
  ])('%j', (text, expected) => {
    expect(parseBwrapStatus(text)).toEqual(expected);
  });
});
