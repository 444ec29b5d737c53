import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvironmentError } from '../../lib/errors.js';
import { writeFileAtomic } from '../../lib/fs.js';
import { runBounded } from '../../lib/proc.js';
import { probeLimits, SHM_BYTES } from './bwrap.js';
import type { CgroupHierarchy } from './cgroups.js';
import { guideLimits, OUTPUT_CAP_BYTES, stepLimits } from './limits.js';
import { buildReaper, REAPER_JAIL_PATH } from './reaper.js';
import { kafelPolicy } from './seccomp.js';
import { SlotRuntime, type SlotRuntimeOptions, stepOutcome } from './slots.js';
import type { DriverInfo, Phase, SandboxDriver, SandboxStep, StepLimits, StepOutcome } from './types.js';

/** Same depth under the package root from src/worker/sandbox and dist/worker/sandbox. */
export const NSJAIL_TEMPLATE_DIR = fileURLToPath(new URL('../../../templates/nsjail/', import.meta.url));

/** The template each phase renders: C++ compiles and runs from one template with two limit sets. */
export const templateOf: Record<Phase, 'python.cfg' | 'cpp.cfg'> = {
  python: 'python.cfg',
  'cpp-compile': 'cpp.cfg',
  'cpp-run': 'cpp.cfg',
};

/** Files `generate nsjail` writes: the upstream names (python.cfg, cpp.cfg = run) plus the compile limits. */
export const generatedFileOf: Record<Phase, string> = {
  python: 'python.cfg',
  'cpp-compile': 'cpp-compile.cfg',
  'cpp-run': 'cpp.cfg',
};

/** The host id the jailed uid/gid 1000 maps to in generated configs (nsjail's examples use 99999). */
export const DEFAULT_OUTSIDE_ID = '99999';

/** A protobuf text-format string literal. */
export function protoString(value: string): string {
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t');
  return `"${escaped}"`;
}

export interface NsjailRenderOptions {
  /** Host uid/gid for the jail's 1000; '' = nsjail's own uid (when it does not run as root). */
  outsideId?: string;
  /** For compilation /out is writable. */
  outWritable?: boolean;
  /**
   * Render nsjail's own cgroup limits (cgroup_mem_max, cgroup_pids_max, cgroup_cpu_ms_per_sec):
   * yes for `generate nsjail` (production images that run nsjail directly), no for the worker,
   * whose slot cgroups already hold those limits or which runs on rlimits alone.
   */
  cgroupLimits?: boolean;
}

/** What the worker's configs say instead of nsjail cgroup limits. */
export const NO_CGROUP_LIMITS =
  "# No nsjail cgroups: the worker holds memory, pids and CPU on the slot's own cgroups (or rlimits alone).";

/** nsjail's cgroup limits as config lines (bytes, count, ms of CPU per second). */
export function cgroupLimitLines(limits: StepLimits): string {
  return [
    `cgroup_mem_max: ${limits.cgroupMemoryKb * 1024}`,
    `cgroup_pids_max: ${limits.pids}`,
    `cgroup_cpu_ms_per_sec: ${limits.cpuMsPerSec}`,
  ].join('\n');
}

/**
 * The values of one phase's config, every one already a text-format literal. Units follow
 * config.proto: time_limit and rlimit_cpu in seconds, rlimit_as and rlimit_fsize in MiB,
 * cgroup_mem_max in bytes (nsjail writes it to memory.limit_in_bytes / memory.max as is).
 * `cgroup_limits` is either those three lines or a comment that the worker holds them.
 */
export function nsjailValues(
  phase: Phase,
  limits: StepLimits,
  options: NsjailRenderOptions = {},
): Record<string, string> {
  const mib = 1024 * 1024;
  return {
    phase,
    time_limit: String(Math.max(1, Math.ceil(limits.wallMs / 1000))),
    cpus: String(guideLimits[phase].cpus),
    memory_mb: String(Math.ceil(limits.memoryKb / 1024)),
    tmpfs_mb: String(limits.tmpfsMb),
    pids: String(limits.pids),
    rlimit_as: String(Math.ceil(limits.memoryKb / 1024)),
    rlimit_cpu: String(limits.cpuSeconds),
    rlimit_fsize: String(limits.fsizeMb),
    rlimit_nofile: String(limits.nofile),
    cgroup_limits: (options.cgroupLimits ?? true) ? cgroupLimitLines(limits) : NO_CGROUP_LIMITS,
    outside_id: protoString(options.outsideId ?? DEFAULT_OUTSIDE_ID),
    shm_bytes: String(SHM_BYTES),
    tmpfs_bytes: String(limits.tmpfsMb * mib),
    out_rw: (options.outWritable ?? phase === 'cpp-compile') ? 'true' : 'false',
    seccomp_string: protoString(kafelPolicy()),
  };
}

/** Fills `{{name}}` placeholders; an unknown or unused placeholder is a bug in the template or here. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  const used = new Set<string>();
  const out = template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`nsjail template: no value for {{${key}}}`);
    used.add(key);
    return value;
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length > 0) throw new Error(`nsjail template: values never used: ${unused.join(', ')}`);
  return out;
}

export function readNsjailTemplate(
  name: 'python.cfg' | 'cpp.cfg',
  dir: string = NSJAIL_TEMPLATE_DIR,
): string {
  return readFileSync(path.join(dir, name), 'utf8');
}

/** One phase's config text. */
export function renderNsjailConfig(
  phase: Phase,
  limits: StepLimits,
  options: NsjailRenderOptions = {},
): string {
  return renderTemplate(readNsjailTemplate(templateOf[phase]), nsjailValues(phase, limits, options));
}

/** The guide's limits for every phase (sentinel-tuning-guide.md "nsjail Sandbox Limits"). */
export function defaultNsjailLimits(): Record<Phase, StepLimits> {
  return {
    python: stepLimits('python'),
    'cpp-compile': stepLimits('cpp-compile'),
    'cpp-run': stepLimits('cpp-run'),
  };
}

export interface RenderedConfig {
  phase: Phase;
  file: string;
  bytes: number;
}

/**
 * Writes python.cfg, cpp.cfg (the run limits) and cpp-compile.cfg into `outDir` for a production
 * image (`sentinel-ctl generate nsjail --out DIR`). Each file is written atomically.
 */
export function renderNsjailConfigs(
  limits: Record<Phase, StepLimits> = defaultNsjailLimits(),
  outDir: string,
  options: Pick<NsjailRenderOptions, 'outsideId' | 'cgroupLimits'> = {},
): RenderedConfig[] {
  mkdirSync(outDir, { recursive: true });
  return (Object.keys(generatedFileOf) as Phase[]).map((phase) => {
    const text = renderNsjailConfig(phase, limits[phase], options);
    const file = path.join(outDir, generatedFileOf[phase]);
    writeFileAtomic(file, text, 0o644);
    return { phase, file, bytes: Buffer.byteLength(text) };
  });
}

/**
 * How to run generated configs on a host with this cgroup hierarchy, as one command line. nsjail
 * creates its per-run cgroups (NSJAIL.<pid>) under a parent that must exist: on v1 "NSJAIL" under
 * each controller's mount unless --cgroup_{mem,pids,cpu}_parent name another; on v2 under
 * --cgroupv2_mount, a cgroup with the memory, pids and cpu controllers delegated. Configs without
 * cgroup limits (--no-cgroup-limits) need none of it.
 */
export function nsjailRunHint(hierarchy: CgroupHierarchy, cgroupLimits: boolean): string {
  const run = 'nsjail --config FILE -- COMMAND';
  if (!cgroupLimits) return `${run} (no cgroup limits in the configs: no cgroup parent needed)`;
  if (hierarchy.version === 1) {
    const parents = (['memory', 'pids', 'cpu'] as const).map((c) => path.join(hierarchy.mounts[c], 'NSJAIL'));
    return `mkdir -p ${[...new Set(parents)].join(' ')} && ${run} (cgroup v1: nsjail nests its cgroups under NSJAIL; --cgroup_mem_parent, --cgroup_pids_parent and --cgroup_cpu_parent name other existing parents)`;
  }
  if (hierarchy.version === 2) {
    return `nsjail --config FILE --use_cgroupv2 --cgroupv2_mount ${hierarchy.mount} -- COMMAND (cgroup v2: the mount, or a cgroup below it, must have memory, pids and cpu in cgroup.subtree_control)`;
  }
  return `${run} — but this host has no usable cgroups (${hierarchy.reason}): generate with --no-cgroup-limits`;
}

export interface NsjailCommandInput {
  nsjailPath: string;
  configFile: string;
  argv: string[];
  /** Descriptor nsjail logs to, so its lines never mix with the program's stderr. */
  logFd: number;
  /** Host path of the init (reaper.ts), mounted read-only and run as the jail's PID 1. */
  reaperPath: string;
  /** Flags after --config that override a user's config with the job's limits (userConfigFlags). */
  overrides?: string[];
  /** `cgroup.procs` files of the slot, joined before nsjail starts; empty without cgroups. */
  cgroupProcs: string[];
}

/**
 * The launch command: a shell joins the slot's cgroups (v1: one per controller; v2: the step's
 * leaf) and execs nsjail, so nsjail and everything it starts live in the slot, whose limits and
 * counters (peak memory, OOM kills) are the ones the worker reads — as under bwrap. nsjail itself
 * creates no cgroup (its config carries no cgroup limits): nothing of it can leak, and an OOM kill
 * is never recorded in a per-run cgroup that nsjail deletes. The program runs under the init.
 */
export function buildNsjailCommand(input: NsjailCommandInput): { file: string; args: string[] } {
  const nsjail = [
    input.nsjailPath,
    '--config',
    input.configFile,
    ...(input.overrides ?? []),
    '--log_fd',
    String(input.logFd),
    '--bindmount_ro',
    `${input.reaperPath}:${REAPER_JAIL_PATH}`,
    '--',
    REAPER_JAIL_PATH,
    ...input.argv,
  ];
  if (input.cgroupProcs.length === 0) {
    const [file, ...args] = nsjail;
    return { file: file as string, args };
  }
  const join = 'while [ "$1" != -- ]; do echo 0 > "$1" || exit 125; shift; done; shift; exec "$@"';
  return { file: '/bin/sh', args: ['-c', join, 'sentinel-sandbox', ...input.cgroupProcs, '--', ...nsjail] };
}

/**
 * Flags that put the job's limits over a user's own config (NSJAIL_CONFIG_DIR): nsjail applies
 * its options in order, so these, after --config, win. The cgroup limits are zeroed for the same
 * reason as in the worker's own configs (buildNsjailCommand).
 */
export function userConfigFlags(limits: StepLimits): string[] {
  return [
    '--mode',
    'o',
    '--time_limit',
    String(Math.max(1, Math.ceil(limits.wallMs / 1000))),
    '--rlimit_as',
    String(Math.ceil(limits.memoryKb / 1024)),
    '--rlimit_cpu',
    String(limits.cpuSeconds),
    '--rlimit_fsize',
    String(limits.fsizeMb),
    '--rlimit_nofile',
    String(limits.nofile),
    '--cgroup_mem_max',
    '0',
    '--cgroup_pids_max',
    '0',
    '--cgroup_cpu_ms_per_sec',
    '0',
  ];
}

/**
 * The host uid a config maps the jail's users to (its first uidmap's outside_id): "" or no uidmap
 * means nsjail's own uid. The worker gives that uid the slot's /out, so the compiler can write it.
 */
export function configOutsideUid(text: string, ownUid: number): number | undefined {
  const m = /^uidmap\s*\{[^}]*?outside_id:\s*"([^"]*)"/m.exec(text);
  if (!m || m[1] === '') return ownUid;
  return /^\d+$/.test(m[1] as string) ? Number(m[1]) : undefined;
}

/** The config files a user's NSJAIL_CONFIG_DIR must hold: what `generate nsjail --out DIR` writes. */
export const USER_CONFIG_FILES = Object.values(generatedFileOf);

/**
 * Reads a user's configs from NSJAIL_CONFIG_DIR: undefined when the directory is missing or holds
 * none of the three files (the built-in templates are used); the three texts when all are there;
 * an EnvironmentError when only some are, or one does not mount /src and /out from the job's
 * directory (prefix_src_env "SENTINEL_JOB_DIR", as generated configs do).
 */
export function readUserConfigs(dir: string): Record<Phase, string> | undefined {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return undefined;
  }
  const present = USER_CONFIG_FILES.filter((f) => entries.includes(f));
  if (present.length === 0) return undefined;
  const missing = USER_CONFIG_FILES.filter((f) => !present.includes(f));
  if (missing.length > 0) {
    throw new EnvironmentError(
      `NSJAIL_CONFIG_DIR ${dir} holds ${present.join(', ')} but not ${missing.join(', ')}.`,
      {
        code: 'SANDBOX_CONFIG',
        suggestion: `Write all three with \`sentinel-ctl generate nsjail --out ${dir}\`, or point worker.nsjailConfigDir (NSJAIL_CONFIG_DIR) at an empty or missing directory to use the built-in configs.`,
      },
    );
  }
  const out = {} as Record<Phase, string>;
  for (const phase of Object.keys(generatedFileOf) as Phase[]) {
    const file = path.join(dir, generatedFileOf[phase]);
    const text = readFileSync(file, 'utf8');
    if (!/prefix_src_env:\s*"SENTINEL_JOB_DIR"/.test(text) || !/dst:\s*"\/src"/.test(text)) {
      throw new EnvironmentError(`${file} does not mount the job's /src from $SENTINEL_JOB_DIR.`, {
        code: 'SANDBOX_CONFIG',
        suggestion:
          'Keep the /src and /out mounts of `sentinel-ctl generate nsjail` (prefix_src_env: "SENTINEL_JOB_DIR") in your configs.',
      });
    }
    out[phase] = text;
  }
  return out;
}

export interface NsjailLog {
  /** nsjail built the jail and executed the program. */
  started: boolean;
  /** nsjail's own time_limit fired. */
  timeLimit: boolean;
  /** nsjail's own errors ([E] / [F] lines). */
  errors: string[];
  /**
   * How the jail's init ended, in the shell's terms (128+n for signal n), from nsjail's last
   * "exited with status" / "terminated with signal" line; undefined without one.
   */
  status?: number;
}

/**
 * Reads nsjail's log (its --log_fd): "Executing '...'" once the jail is built, "pid=N (...)
 * exited with status: N" or "terminated with signal: NAME (N)" at the end, "run time >= time
 * limit" when its wall clock fired, and [E]/[F] lines for its own failures.
 */
export function parseNsjailLog(text: string): NsjailLog {
  const lines = text.split('\n');
  let status: number | undefined;
  for (const l of lines) {
    const exited = /pid=\d+ .*exited with status: (\d+)/.exec(l);
    const signaled = /pid=\d+ .*terminated with signal: \w+ \((\d+)\)/.exec(l);
    if (exited) status = Number(exited[1]);
    else if (signaled) status = 128 + Number(signaled[1]);
  }
  return {
    started: lines.some(
      (l) => /Executing '/.test(l) || /pid=\d+ .*(exited with status|terminated with signal)/.test(l),
    ),
    timeLimit: lines.some((l) => /run time >= time limit/.test(l)),
    errors: lines.filter((l) => /^\[[EF]\]/.test(l)).map((l) => l.trim()),
    ...(status === undefined ? {} : { status }),
  };
}

export interface NsjailDriverOptions extends SlotRuntimeOptions {
  /** config `worker.nsjailPath` (NSJAIL_PATH). */
  nsjailPath: string;
  /** config `worker.nsjailConfigDir` (NSJAIL_CONFIG_DIR): the user's own configs, when it holds them. */
  configDir?: string;
}

/** How long nsjail gets to stop its jail after SIGTERM before the worker kills what is left. */
const NSJAIL_STOP_GRACE_MS = 1000;

/**
 * The production driver: nsjail with a config rendered per step from templates/nsjail (or the
 * user's own from NSJAIL_CONFIG_DIR, with the job's limits put over it), inside the slot's cgroups,
 * the program under the sandbox's init (reaper.ts).
 */
export class NsjailDriver implements SandboxDriver {
  readonly name = 'nsjail' as const;
  readonly slots: number;
  private readonly nsjailPath: string;
  private readonly configDir: string | undefined;
  private readonly runtime: SlotRuntime;
  private templates: Record<'python.cfg' | 'cpp.cfg', string> | undefined;
  private userConfigs: Record<Phase, string> | undefined;
  private reaperPath: string | undefined;

  constructor(options: NsjailDriverOptions) {
    this.slots = options.slots;
    this.nsjailPath = options.nsjailPath;
    this.configDir = options.configDir;
    this.runtime = new SlotRuntime(options);
  }

  /** Where the configs come from, for logs and `status`: the built-in templates or the user's directory. */
  get configSource(): string {
    return this.userConfigs ? `user configs in ${this.configDir}` : 'built-in templates';
  }

  async init(): Promise<DriverInfo> {
    if (!existsSync(this.nsjailPath)) {
      throw new EnvironmentError(`nsjail is not installed at ${this.nsjailPath}.`, {
        code: 'SANDBOX_MISSING',
        suggestion:
          'Set worker.nsjailPath (NSJAIL_PATH), or use worker.sandbox: bwrap (installed by `sentinel-ctl setup`).',
      });
    }
    this.userConfigs = this.configDir === undefined ? undefined : readUserConfigs(this.configDir);
    this.templates = {
      'python.cfg': readNsjailTemplate('python.cfg'),
      'cpp.cfg': readNsjailTemplate('cpp.cfg'),
    };
    const info = await this.runtime.init('nsjail');
    this.reaperPath = await buildReaper(this.runtime.workRoot);
    // A probe run: a host where nsjail cannot build a jail (no user namespaces, a user config
    // that does not parse) fails here, with nsjail's own words, instead of on every job.
    const probe = await this.run(
      { phase: 'python', argv: ['/usr/bin/true'], stdin: '', limits: probeLimits, sources: {}, out: 'ro' },
      0,
    );
    if (probe.sandboxFailure !== undefined || probe.exitCode !== 0) {
      await this.runtime.close();
      throw new EnvironmentError(
        `nsjail cannot start a sandbox here: ${probe.sandboxFailure ?? `exit ${probe.exitCode}: ${probe.stderr.trim()}`}`,
        {
          code: 'SANDBOX_BROKEN',
          suggestion: `Run it by hand to see why: ${this.nsjailPath} -Mo --chroot / -- /bin/true (user namespaces must be enabled)${this.userConfigs ? `; check the configs in ${this.configDir}` : ''}.`,
        },
      );
    }
    if (this.userConfigs) {
      info.warnings.push(
        `nsjail runs the user configs in ${this.configDir}: each job's time and rlimits are applied over them, but their seccomp policy, mounts and uid map are theirs (slots share the uid they map to)`,
      );
    }
    return info;
  }

  /** The config text of one step: the user's file as is (limits go on the command line), or a rendered template. */
  private configText(step: SandboxStep, hostUid: number | undefined): string {
    if (this.userConfigs) return this.userConfigs[step.phase];
    const templates = this.templates;
    if (templates === undefined) throw new Error('NsjailDriver.run called before init()');
    return renderTemplate(
      templates[templateOf[step.phase]],
      nsjailValues(step.phase, step.limits, {
        outsideId: hostUid === undefined ? '' : String(hostUid),
        outWritable: step.out === 'rw',
        cgroupLimits: false,
      }),
    );
  }

  async run(step: SandboxStep, slot: number, signal?: AbortSignal): Promise<StepOutcome> {
    const reaperPath = this.reaperPath;
    if (reaperPath === undefined) throw new Error('NsjailDriver.run called before init()');
    return this.runtime.withSlot(slot, step, async (ctx) => {
      const slotDir = path.dirname(ctx.srcDir);
      const configFile = path.join(slotDir, 'nsjail.cfg');
      const text = this.configText(step, ctx.hostUid);
      writeFileAtomic(configFile, text, 0o644);
      if (this.userConfigs && step.out === 'rw') {
        // A user config maps the jail to its own host uid, not the slot's: /out is theirs for the compile.
        const uid = configOutsideUid(text, process.getuid?.() ?? 0);
        if (uid !== undefined) chownSync(ctx.outDir, uid, uid);
      }
      const { file, args } = buildNsjailCommand({
        nsjailPath: this.nsjailPath,
        configFile,
        argv: step.argv,
        logFd: 3,
        reaperPath,
        overrides: this.userConfigs ? userConfigFlags(step.limits) : undefined,
        cgroupProcs: ctx.cgroup?.procsFiles ?? [],
      });
      const result = await runBounded(file, args, {
        env: { PATH: '/usr/bin:/bin', SENTINEL_JOB_DIR: slotDir },
        input: step.stdin,
        extraFds: ['pipe'],
        maxOutputBytes: OUTPUT_CAP_BYTES,
        timeoutMs: step.limits.wallMs,
        signal,
        // nsjail is stopped, not killed: on SIGTERM it kills its jail and exits by itself.
        killAll: (pid) => stopNsjail(pid, ctx.killAll),
      });
      const log = parseNsjailLog(result.extraOutput[0] ?? '');
      const killedByUs = result.timedOut || result.overflowed || result.aborted;
      const timedOut = result.timedOut || log.timeLimit;
      let sandboxFailure: string | undefined;
      if (result.spawnError !== undefined) sandboxFailure = result.spawnError;
      else if (!log.started && !killedByUs) {
        sandboxFailure = `nsjail did not start the program (exit ${result.exitCode}): ${log.errors.slice(-3).join(' | ') || result.stderr.trim().split('\n').slice(-3).join(' | ')}`;
      }
      // The jail's status as nsjail saw it: when the worker stops nsjail (SIGTERM) for a timeout
      // or a flood, nsjail's own exit is 143 while the program died of its SIGKILL (137, as
      // under bwrap).
      return stepOutcome(result, log.status ?? result.exitCode, timedOut, sandboxFailure);
    });
  }

  close(): Promise<void> {
    return this.runtime.close();
  }
}

/**
 * Stops nsjail the way it expects: SIGTERM, on which it kills its jail, reaps it and removes what
 * it made; then whatever is left in the slot (a jail nsjail did not get to) is killed, nsjail
 * spared so that it can reap. Returns once nsjail has exited or the grace is over — the caller
 * SIGKILLs it then.
 */
async function stopNsjail(pid: number | undefined, killSlot: (spare?: number) => Promise<void>) {
  if (pid === undefined) return killSlot();
  try {
    process.kill(pid, 'SIGTERM');
  } catch {}
  const deadline = Date.now() + NSJAIL_STOP_GRACE_MS;
  while (Date.now() < deadline && running(pid)) await new Promise((r) => setTimeout(r, 10));
  await killSlot(pid);
}

/** Alive and not a zombie (a zombie waits for the worker to reap it). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
