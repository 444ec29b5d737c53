import { existsSync } from 'node:fs';
import { EnvironmentError } from '../../lib/errors.js';
import { runBounded } from '../../lib/proc.js';
import { closeInheritableFds } from './fds.js';
import { OUTPUT_CAP_BYTES } from './limits.js';
import { buildSeccompFilter } from './seccomp.js';
import { SlotRuntime, type SlotRuntimeOptions, stepOutcome } from './slots.js';
import type { DriverInfo, SandboxDriver, SandboxStep, StepLimits, StepOutcome } from './types.js';

/** Inside the sandbox the program is uid/gid 1000, an ordinary user (never 0). */
export const SANDBOX_UID = 1000;
/** Size of /dev/shm: enough for semaphores and small shared buffers, not a second /tmp. */
export const SHM_BYTES = 4 * 1024 * 1024;
/** The environment a program sees: nothing of the worker's (no connection strings). */
export const SANDBOX_ENV: Record<string, string> = {
  PATH: '/usr/bin:/bin',
  HOME: '/tmp',
  TMPDIR: '/tmp',
  LANG: 'C.UTF-8',
  PYTHONDONTWRITEBYTECODE: '1',
};
/** The environment of the launcher chain (sh, prlimit, setpriv, bwrap): bwrap's pid 1 keeps it
 * visible in /proc/1/environ inside the sandbox, so it must not hold the worker's secrets. */
export const LAUNCHER_ENV: Record<string, string> = { PATH: '/usr/bin:/bin' };

export interface BwrapCommandInput {
  bwrapPath: string;
  limits: StepLimits;
  argv: string[];
  /** Host directories of the slot. */
  srcDir: string;
  outDir: string;
  out: 'rw' | 'ro';
  /** Minimal /etc/passwd and /etc/group for uid 1000 (host files, read-only). */
  passwdFile: string;
  groupFile: string;
  /** Host uid/gid to drop to before bwrap (when the worker runs as root); undefined keeps ours. */
  hostUid?: number;
  /** `cgroup.procs` files the launcher joins before exec; empty without cgroups. */
  cgroupProcs: string[];
  /** Set RLIMIT_NPROC (only without a pids cgroup: it counts per host uid, across slots sharing one). */
  nprocLimit?: number;
  /** Descriptor numbers the launcher passes: the seccomp program and the status pipe. */
  seccompFd: number;
  statusFd: number;
}

/**
 * The complete launch command of one step, as a pure function (the policy is what tests assert):
 *
 *   sh: join the slot's cgroups (as root, before anything runs, so no child can start outside)
 *   prlimit: address space, CPU seconds, file size, open files, no core files
 *   setpriv: become the slot's unprivileged host uid — launched by root, bwrap's sandbox uid
 *            would map to host root and RLIMIT_NPROC would not apply (docs/design.md "Sandboxing with bubblewrap")
 *   bwrap: namespaces, a read-only root, the size-limited tmpfs, the seccomp filter
 */
export function buildBwrapCommand(input: BwrapCommandInput): { file: string; args: string[] } {
  const { limits } = input;
  const bwrap = [
    input.bwrapPath,
    // New user, pid, ipc, uts, mount, net and cgroup namespaces. --unshare-all only *tries* the
    // user namespace; --unshare-user insists, and --disable-userns stops the program from nesting
    // one (a nested user namespace hands out capabilities over it).
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_UID),
    '--hostname',
    'sentinel',
    // Read-only system: the merged /usr and the few /etc files the toolchain reads.
    '--ro-bind',
    '/usr',
    '/usr',
    '--ro-bind-try',
    '/etc/alternatives',
    '/etc/alternatives',
    '--ro-bind-try',
    '/etc/ld.so.cache',
    '/etc/ld.so.cache',
    '--ro-bind',
    input.passwdFile,
    '/etc/passwd',
    '--ro-bind',
    input.groupFile,
    '/etc/group',
    '--symlink',
    'usr/bin',
    '/bin',
    '--symlink',
    'usr/sbin',
    '/sbin',
    '--symlink',
    'usr/lib',
    '/lib',
    '--symlink',
    'usr/lib64',
    '/lib64',
    // A fresh /proc of the new pid namespace: no host processes; /proc/sys stays read-only.
    '--proc',
    '/proc',
    // Minimal /dev (null, zero, random, urandom, tty, pts), then read-only, with a small /dev/shm.
    '--dev',
    '/dev',
    '--size',
    String(SHM_BYTES),
    '--tmpfs',
    '/dev/shm',
    '--remount-ro',
    '/dev',
    // The only writable space: a size-limited tmpfs (--size must precede --tmpfs).
    '--size',
    String(limits.tmpfsMb * 1024 * 1024),
    '--tmpfs',
    '/tmp',
    '--ro-bind',
    input.srcDir,
    '/src',
    input.out === 'rw' ? '--bind' : '--ro-bind',
    input.outDir,
    '/out',
    // bwrap's own root is a tmpfs without a size limit: make it read-only.
    '--remount-ro',
    '/',
    '--chdir',
    '/tmp',
    '--clearenv',
    ...Object.entries(SANDBOX_ENV).flatMap(([k, v]) => ['--setenv', k, v]),
    '--die-with-parent',
    // setsid: the program has no controlling terminal to push input into (TIOCSTI).
    '--new-session',
    '--cap-drop',
    'ALL',
    '--seccomp',
    String(input.seccompFd),
    '--json-status-fd',
    String(input.statusFd),
    '--',
    ...input.argv,
  ];

  const mib = 1024 * 1024;
  const prlimit = [
    '/usr/bin/prlimit',
    `--as=${limits.memoryKb * 1024}`,
    `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 1}`,
    `--fsize=${limits.fsizeMb * mib}`,
    `--nofile=${limits.nofile}`,
    '--core=0',
    ...(input.nprocLimit === undefined ? [] : [`--nproc=${input.nprocLimit}`]),
    '--',
  ];
  const setpriv =
    input.hostUid === undefined
      ? []
      : [
          '/usr/bin/setpriv',
          `--reuid=${input.hostUid}`,
          `--regid=${input.hostUid}`,
          '--clear-groups',
          '--inh-caps=-all',
          '--',
        ];
  const chain = [...prlimit, ...setpriv, ...bwrap];
  if (input.cgroupProcs.length === 0) {
    const [file, ...args] = chain;
    return { file: file as string, args };
  }
  // `echo 0 > cgroup.procs` moves the shell itself; everything it execs stays inside. Exit 125
  // (nothing ran) when the kernel refuses.
  const join = 'while [ "$1" != -- ]; do echo 0 > "$1" || exit 125; shift; done; shift; exec "$@"';
  return { file: '/bin/sh', args: ['-c', join, 'sentinel-sandbox', ...input.cgroupProcs, '--', ...chain] };
}

interface BwrapStatus {
  started: boolean;
  exitCode?: number;
}

/** bwrap's --json-status-fd stream: `{"child-pid": N, ...}` once started, `{"exit-code": N}` at the end. */
export function parseBwrapStatus(text: string): BwrapStatus {
  const status: BwrapStatus = { started: false };
  for (const match of text.matchAll(/\{[^{}]*\}/g)) {
    try {
      const doc = JSON.parse(match[0]) as Record<string, unknown>;
      if (typeof doc['child-pid'] === 'number') status.started = true;
      if (typeof doc['exit-code'] === 'number') status.exitCode = doc['exit-code'];
    } catch {}
  }
  return status;
}

export interface BwrapDriverOptions extends SlotRuntimeOptions {
  bwrapPath?: string;
}

/**
 * The bubblewrap driver: the nsjail policy rebuilt from Debian packages (bubblewrap, util-linux's
 * prlimit and setpriv) plus per-slot cgroups and a seccomp filter generated in TypeScript.
 */
export class BwrapDriver implements SandboxDriver {
  readonly name = 'bwrap' as const;
  readonly slots: number;
  private readonly bwrapPath: string;
  private readonly runtime: SlotRuntime;
  private seccomp: Buffer | undefined;

  constructor(options: BwrapDriverOptions) {
    this.slots = options.slots;
    this.bwrapPath = options.bwrapPath ?? '/usr/bin/bwrap';
    this.runtime = new SlotRuntime(options);
  }

  async init(): Promise<DriverInfo> {
    for (const bin of [this.bwrapPath, '/usr/bin/prlimit', '/usr/bin/setpriv', '/bin/sh']) {
      if (!existsSync(bin)) {
        throw new EnvironmentError(`The bwrap sandbox needs ${bin}, which is not installed.`, {
          code: 'SANDBOX_MISSING',
          suggestion:
            'Run `sentinel-ctl setup` (it installs bubblewrap; prlimit and setpriv come with util-linux).',
        });
      }
    }
    // Before any sandbox starts: bwrap would hand the worker's stray descriptors to every program.
    closeInheritableFds();
    try {
      this.seccomp = buildSeccompFilter();
    } catch (error) {
      throw new EnvironmentError((error as Error).message, { code: 'SANDBOX_UNSUPPORTED' });
    }
    const info = await this.runtime.init('bwrap');
    // A probe run: a host without unprivileged user namespaces fails here, with bwrap's own words.
    const probe = await this.run(
      { phase: 'python', argv: ['/usr/bin/true'], stdin: '', limits: probeLimits, sources: {}, out: 'ro' },
      0,
    );
    if (probe.sandboxFailure !== undefined || probe.exitCode !== 0) {
      throw new EnvironmentError(
        `bubblewrap cannot start a sandbox here: ${probe.sandboxFailure ?? `exit ${probe.exitCode}: ${probe.stderr.trim()}`}`,
        {
          code: 'SANDBOX_BROKEN',
          suggestion:
            'Check that unprivileged user namespaces are enabled (sysctl user.max_user_namespaces > 0, kernel.unprivileged_userns_clone=1) and that every parent of the work directory can be traversed by other users.',
        },
      );
    }
    return info;
  }

  async run(step: SandboxStep, slot: number, signal?: AbortSignal): Promise<StepOutcome> {
    if (this.seccomp === undefined) throw new Error('BwrapDriver.run called before init()');
    const seccomp = this.seccomp;
    return this.runtime.withSlot(slot, step, async (ctx) => {
      const { file, args } = buildBwrapCommand({
        bwrapPath: this.bwrapPath,
        limits: step.limits,
        argv: step.argv,
        srcDir: ctx.srcDir,
        outDir: ctx.outDir,
        out: step.out,
        passwdFile: ctx.passwdFile,
        groupFile: ctx.groupFile,
        hostUid: ctx.hostUid,
        cgroupProcs: ctx.cgroup?.procsFiles ?? [],
        nprocLimit: ctx.cgroup ? undefined : step.limits.pids,
        seccompFd: 3,
        statusFd: 4,
      });
      const result = await runBounded(file, args, {
        env: LAUNCHER_ENV,
        input: step.stdin,
        extraFds: [seccomp, 'pipe'],
        maxOutputBytes: OUTPUT_CAP_BYTES,
        timeoutMs: step.limits.wallMs,
        signal,
        killAll: ctx.killAll,
      });
      const status = parseBwrapStatus(result.extraOutput[1] ?? '');
      const killedByUs = result.timedOut || result.overflowed || result.aborted;
      let sandboxFailure: string | undefined;
      if (result.spawnError !== undefined) sandboxFailure = result.spawnError;
      else if (!status.started && !killedByUs) {
        sandboxFailure = `the sandbox did not start (exit ${result.exitCode}): ${lastLines(result.stderr)}`;
      } else if (status.started && status.exitCode === undefined && !killedByUs) {
        // bwrap reports the program's exit unless bwrap itself failed after starting it (exec of a
        // missing binary, a broken mount).
        sandboxFailure = `bwrap failed (exit ${result.exitCode}): ${lastLines(result.stderr)}`;
      }
      return stepOutcome(result, status.exitCode ?? result.exitCode, result.timedOut, sandboxFailure);
    });
  }

  close(): Promise<void> {
    return this.runtime.close();
  }
}

/** Limits of the probe run each driver makes at init (a trivial program). */
export const probeLimits: StepLimits = {
  wallMs: 10_000,
  memoryKb: 256 * 1024,
  cgroupMemoryKb: 320 * 1024,
  pids: 64,
  cpuMsPerSec: 1000,
  cpuSeconds: 11,
  tmpfsMb: 1,
  fsizeMb: 1,
  nofile: 64,
};

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ') || '(no message)';
}
