import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvironmentError } from '../../lib/errors.js';
import { writeFileAtomic } from '../../lib/fs.js';
import { runBounded } from '../../lib/proc.js';
import { SHM_BYTES } from './bwrap.js';
import { CGROUP_PARENT } from './cgroups.js';
import { guideLimits, OUTPUT_CAP_BYTES, stepLimits } from './limits.js';
import { kafelPolicy } from './seccomp.js';
import { SlotRuntime, type SlotRuntimeOptions } from './slots.js';
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
}

/**
 * The values of one phase's config, every one already a text-format literal. Units follow
 * config.proto: time_limit and rlimit_cpu in seconds, rlimit_as and rlimit_fsize in MiB,
 * cgroup_mem_max in bytes (nsjail writes it to memory.limit_in_bytes / memory.max as is).
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
    cgroup_mem_max: String(limits.cgroupMemoryKb * 1024),
    cgroup_pids_max: String(limits.pids),
    cgroup_cpu_ms_per_sec: String(limits.cpuMsPerSec),
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
  options: Pick<NsjailRenderOptions, 'outsideId'> = {},
): RenderedConfig[] {
  mkdirSync(outDir, { recursive: true });
  return (Object.keys(generatedFileOf) as Phase[]).map((phase) => {
    const text = renderNsjailConfig(phase, limits[phase], options);
    const file = path.join(outDir, generatedFileOf[phase]);
    writeFileAtomic(file, text, 0o644);
    return { phase, file, bytes: Buffer.byteLength(text) };
  });
}

export interface NsjailCommandInput {
  nsjailPath: string;
  configFile: string;
  argv: string[];
  /** Descriptor nsjail logs to, so its lines never mix with the program's stderr. */
  logFd: number;
  cgroups:
    | { version: 1; parents: { memory: string; pids: string; cpu: string }; procsFiles: string[] }
    | { version: 2; mount: string }
    | undefined;
}

/**
 * The launch command: on cgroup v1 nsjail itself joins the slot (so killing the slot kills it) and
 * nests its per-run cgroups under the slot's; on v2 it stays outside (a cgroup with children may
 * hold no process) and uses the slot's fresh leaf as its cgroup root.
 */
export function buildNsjailCommand(input: NsjailCommandInput): { file: string; args: string[] } {
  const cg = input.cgroups;
  const cgroupFlags =
    cg === undefined
      ? []
      : cg.version === 1
        ? [
            '--cgroup_mem_parent',
            cg.parents.memory,
            '--cgroup_pids_parent',
            cg.parents.pids,
            '--cgroup_cpu_parent',
            cg.parents.cpu,
          ]
        : ['--use_cgroupv2', '--cgroupv2_mount', cg.mount];
  const nsjail = [
    input.nsjailPath,
    '--config',
    input.configFile,
    '--log_fd',
    String(input.logFd),
    ...cgroupFlags,
    '--',
    ...input.argv,
  ];
  if (cg?.version !== 1) {
    const [file, ...args] = nsjail;
    return { file: file as string, args };
  }
  const join = 'while [ "$1" != -- ]; do echo 0 > "$1" || exit 125; shift; done; shift; exec "$@"';
  return { file: '/bin/sh', args: ['-c', join, 'sentinel-sandbox', ...cg.procsFiles, '--', ...nsjail] };
}

export interface NsjailLog {
  /** nsjail built the jail and executed the program. */
  started: boolean;
  /** nsjail's own time_limit fired. */
  timeLimit: boolean;
  /** nsjail's own errors ([E] / [F] lines). */
  errors: string[];
}

/**
 * Reads nsjail's log (its --log_fd): "Executing '...'" once the jail is built, "pid=N (...)
 * exited with status: N" or "terminated with signal: NAME (N)" at the end, "run time >= time
 * limit" when its wall clock fired, and [E]/[F] lines for its own failures.
 */
export function parseNsjailLog(text: string): NsjailLog {
  const lines = text.split('\n');
  return {
    started: lines.some(
      (l) => /Executing '/.test(l) || /pid=\d+ .*(exited with status|terminated with signal)/.test(l),
    ),
    timeLimit: lines.some((l) => /run time >= time limit/.test(l)),
    errors: lines.filter((l) => /^\[[EF]\]/.test(l)).map((l) => l.trim()),
  };
}

export interface NsjailDriverOptions extends SlotRuntimeOptions {
  /** config `worker.nsjailPath` (NSJAIL_PATH). */
  nsjailPath: string;
}

/** The production driver: nsjail with a config rendered per step from templates/nsjail. */
export class NsjailDriver implements SandboxDriver {
  readonly name = 'nsjail' as const;
  readonly slots: number;
  private readonly nsjailPath: string;
  private readonly runtime: SlotRuntime;
  private templates: Record<'python.cfg' | 'cpp.cfg', string> | undefined;

  constructor(options: NsjailDriverOptions) {
    this.slots = options.slots;
    this.nsjailPath = options.nsjailPath;
    this.runtime = new SlotRuntime({ ...options, delegateCgroups: true });
  }

  async init(): Promise<DriverInfo> {
    if (!existsSync(this.nsjailPath)) {
      throw new EnvironmentError(`nsjail is not installed at ${this.nsjailPath}.`, {
        code: 'SANDBOX_MISSING',
        suggestion:
          'Set worker.nsjailPath (NSJAIL_PATH), or use worker.sandbox: bwrap (installed by `sentinel-ctl setup`).',
      });
    }
    this.templates = {
      'python.cfg': readNsjailTemplate('python.cfg'),
      'cpp.cfg': readNsjailTemplate('cpp.cfg'),
    };
    return this.runtime.init('nsjail');
  }

  async run(step: SandboxStep, slot: number, signal?: AbortSignal): Promise<StepOutcome> {
    const templates = this.templates;
    if (templates === undefined) throw new Error('NsjailDriver.run called before init()');
    return this.runtime.withSlot(slot, step, async (ctx) => {
      const slotDir = path.dirname(ctx.srcDir);
      const configFile = path.join(slotDir, 'nsjail.cfg');
      const text = renderTemplate(
        templates[templateOf[step.phase]],
        nsjailValues(step.phase, step.limits, {
          outsideId: ctx.hostUid === undefined ? '' : String(ctx.hostUid),
          outWritable: step.out === 'rw',
        }),
      );
      writeFileAtomic(configFile, text, 0o644);
      const cg = ctx.cgroup;
      const v1Parents = cg?.dirs.memory !== undefined ? relativeParents(cg.dirs) : undefined;
      const { file, args } = buildNsjailCommand({
        nsjailPath: this.nsjailPath,
        configFile,
        argv: step.argv,
        logFd: 3,
        cgroups:
          cg === undefined
            ? undefined
            : v1Parents
              ? { version: 1, parents: v1Parents, procsFiles: cg.procsFiles }
              : { version: 2, mount: cg.dirs.unified ?? '' },
      });
      const result = await runBounded(file, args, {
        env: { PATH: '/usr/bin:/bin', SENTINEL_JOB_DIR: slotDir },
        input: step.stdin,
        extraFds: ['pipe'],
        maxOutputBytes: OUTPUT_CAP_BYTES,
        timeoutMs: step.limits.wallMs,
        signal,
        killAll: ctx.killAll,
      });
      const log = parseNsjailLog(result.extraOutput[0] ?? '');
      const killedByUs = result.timedOut || result.overflowed || result.aborted;
      const timedOut = result.timedOut || log.timeLimit;
      let sandboxFailure: string | undefined;
      if (result.spawnError !== undefined) sandboxFailure = result.spawnError;
      else if (!log.started && !killedByUs) {
        sandboxFailure = `nsjail did not start the program (exit ${result.exitCode}): ${log.errors.slice(-3).join(' | ') || result.stderr.trim().split('\n').slice(-3).join(' | ')}`;
      }
      return {
        exitCode: result.exitCode,
        stdout: result.stdout,
        stderr: result.stderr,
        stdoutTruncated: result.stdoutTruncated,
        stderrTruncated: result.stderrTruncated,
        wallMs: Math.round(result.wallMs),
        // nsjail removes its per-run cgroup, and v1 counts OOM kills only there: a SIGKILL that
        // neither clock nor we sent is the memory cgroup's (the slot's v2 counter also says so).
        oomKilled: log.started && result.exitCode === 137 && !timedOut && !killedByUs,
        timedOut,
        outputLimitHit: result.overflowed,
        sandboxFailure: sandboxFailure ?? (result.aborted ? 'the run was cancelled' : undefined),
      };
    });
  }

  close(): Promise<void> {
    return this.runtime.close();
  }
}

/** nsjail's cgroup_*_parent flags are relative to the controller's mount. */
function relativeParents(
  dirs: Record<string, string>,
): { memory: string; pids: string; cpu: string } | undefined {
  const rel = (dir: string | undefined) => {
    if (dir === undefined) return undefined;
    const marker = `${path.sep}${CGROUP_PARENT}${path.sep}`;
    const i = dir.indexOf(marker);
    return i < 0 ? undefined : dir.slice(i + 1);
  };
  const memory = rel(dirs.memory);
  const pids = rel(dirs.pids);
  const cpu = rel(dirs.cpu);
  return memory && pids && cpu ? { memory, pids, cpu } : undefined;
}
