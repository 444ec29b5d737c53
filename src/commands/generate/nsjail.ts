import { existsSync } from 'node:fs';
import path from 'node:path';
import { Flags } from '@oclif/core';
import { SentinelCommand } from '../../cli/base-command.js';
import { durationFlag, legacyMsFlag, legacyMsWarning } from '../../lib/duration.js';
import { UserError } from '../../lib/errors.js';
import { renderTable } from '../../lib/table.js';
import { detectHostHierarchy } from '../../worker/sandbox/cgroups.js';
import { guideLimits, stepLimits } from '../../worker/sandbox/limits.js';
import {
  DEFAULT_OUTSIDE_ID,
  generatedFileOf,
  nsjailRunHint,
  renderNsjailConfigs,
} from '../../worker/sandbox/nsjail.js';
import type { Phase, StepLimits } from '../../worker/sandbox/types.js';

export interface GenerateNsjailResult {
  outDir: string;
  /** nsjail's own cgroup limits are in the configs. */
  cgroupLimits: boolean;
  /** How to run the configs on this host (the cgroup parents they need, if any). */
  runWith: string;
  files: Array<{
    phase: Phase;
    file: string;
    bytes: number;
    timeLimitS: number;
    memoryMb: number;
    tmpfsMb: number;
    pids: number;
  }>;
}

export default class GenerateNsjail extends SentinelCommand<GenerateNsjailResult> {
  static override summary = 'Write the nsjail configs (python, cpp, cpp-compile) for a production image.';
  static override description =
    `Renders templates/nsjail with the limits of the tuning guide ("nsjail Sandbox Limits": wall 10 s; memory 256 / 512 / 256 MB for python / C++ compile / C++ run; 64 pids; 1 CPU; tmpfs 64 / 128 / 64 MB) into protobuf text that nsjail's config.proto accepts. cpp.cfg carries the run limits, cpp-compile.cfg the compile limits. Bind mounts of /src and /out are relative to $SENTINEL_JOB_DIR (prefix_src_env); the jail's uid and gid 1000 map to --outside-id on the host. With cgroup limits (the default) nsjail needs a parent cgroup to nest its own under; the note says what this host needs. --no-cgroup-limits renders rlimits only (the worker's own configs, whose cgroup limits sit on its slot cgroups). Files are written atomically; existing ones are refused unless --force is given (as generate k8s does).`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --out deploy/nsjail',
    '<%= config.bin %> <%= command.id %> --out /etc/nsjail --time-limit 5s \\\n    --memory-limit-kb 131072 --json',
  ];
  static override flags = {
    out: Flags.directory({
      summary: 'Directory to write the configs into (created when missing).',
      required: true,
    }),
    'time-limit': durationFlag({
      summary: 'Wall-clock limit of the program runs (python, C++ run), rounded up to seconds.',
      min: 1,
      max: guideLimits.python.wallMs,
    }),
    'time-limit-ms': legacyMsFlag({ replacement: 'time-limit', max: guideLimits.python.wallMs }),
    'memory-limit-kb': Flags.integer({
      summary: 'Memory limit of the program runs (python, C++ run).',
      min: 1024,
    }),
    'cgroup-limits': Flags.boolean({
      summary:
        "Put nsjail's own cgroup limits (memory + tmpfs, pids, CPU) into the configs; --no-cgroup-limits leaves rlimits only, so they run without a cgroup parent.",
      default: true,
      allowNo: true,
    }),
    force: Flags.boolean({ summary: 'Overwrite config files that already exist in --out.' }),
    'outside-id': Flags.string({
      summary: 'Host uid/gid the jailed uid 1000 maps to; "" maps to the uid nsjail runs as.',
      default: DEFAULT_OUTSIDE_ID,
    }),
  };

  async run(): Promise<GenerateNsjailResult> {
    const { flags } = await this.parse(GenerateNsjail);
    if (flags['time-limit-ms'] !== undefined)
      this.warnUser(legacyMsWarning('time-limit-ms', 'time-limit', flags['time-limit-ms']));
    const timeLimitMs = flags['time-limit'] ?? flags['time-limit-ms'];
    const job =
      timeLimitMs === undefined && flags['memory-limit-kb'] === undefined
        ? undefined
        : {
            timeLimitMs: timeLimitMs ?? guideLimits.python.wallMs,
            memoryLimitKb: flags['memory-limit-kb'] ?? guideLimits.python.memoryMb * 1024,
          };
    const limits: Record<Phase, StepLimits> = {
      python: stepLimits('python', job),
      'cpp-compile': stepLimits('cpp-compile'),
      'cpp-run': stepLimits('cpp-run', job),
    };
    const outDir = path.resolve(flags.out);
    const present = Object.values(generatedFileOf).filter((f) => existsSync(path.join(outDir, f)));
    if (present.length > 0 && !flags.force) {
      throw new UserError(`${flags.out} already holds ${present.join(', ')}; nothing was written.`, {
        code: 'OUT_NOT_EMPTY',
        suggestion:
          'Choose an empty or new directory, or pass --force to overwrite the generated files in it.',
      });
    }
    const cgroupLimits = flags['cgroup-limits'];
    const written = renderNsjailConfigs(limits, outDir, { outsideId: flags['outside-id'], cgroupLimits });
    const runWith = nsjailRunHint(detectHostHierarchy(), cgroupLimits);
    const files = written.map((w) => ({
      ...w,
      timeLimitS: Math.ceil(limits[w.phase].wallMs / 1000),
      memoryMb: Math.ceil(limits[w.phase].memoryKb / 1024),
      tmpfsMb: limits[w.phase].tmpfsMb,
      pids: limits[w.phase].pids,
    }));
    if (!this.jsonEnabled()) {
      this.log(
        renderTable(
          ['FILE', 'PHASE', 'WALL', 'MEMORY', 'TMPFS', 'PIDS'],
          files.map((f) => [
            path.relative(process.cwd(), f.file) || f.file,
            f.phase,
            `${f.timeLimitS} s`,
            `${f.memoryMb} MB`,
            `${f.tmpfsMb} MB`,
            String(f.pids),
          ]),
        ),
      );
    }
    this.note('Limits: tuning guide, "nsjail Sandbox Limits".');
    this.note(`Run with: ${runWith}`);
    return { outDir, cgroupLimits, runWith, files };
  }
}
