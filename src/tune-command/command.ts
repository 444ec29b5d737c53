/**
 * The part every `tune <topic>` command shares: turn parsed flags and the loaded config into
 * TuneOptions, run the topic, print (stdout: the report or the diff; stderr: notes), and return
 * the typed result for `--json`.
 */

import { SentinelCommand } from '../cli/base-command.js';
import type { SentinelConfig } from '../config/schema.js';
import type { FactFlags, GatherOptions } from '../facts/gather.js';
import type { LocalStackSettings } from '../facts/live.js';
import { CheckFailedError, UserError } from '../lib/errors.js';
import { endpoints } from '../services/endpoints.js';
import { TASK_QUEUE } from '../services/rabbitmq/topology.js';
import { factsFromFlags, legacyExecWarnings } from './flags.js';
import { renderTune } from './render.js';
import { diffText, runTune, type TuneOptions } from './run.js';
import type { TuneResult, TuneTopic } from './types.js';

/** Keys sampled with MEMORY USAGE for bytes per key. */
const REDIS_SAMPLE_KEYS = 500;

export interface TuneFlagValues {
  config?: string;
  'state-dir'?: string;
  'port-offset'?: number;
  profile?: 'dev' | 'staging' | 'prod';
  manifests?: string[];
  dotenv?: string[];
  live?: boolean;
  timeout?: number;
  'api-workload'?: string;
  'worker-workload'?: string;
  'cgroup-root'?: string;
  write?: boolean;
  'dry-run'?: boolean;
  'exit-code'?: boolean;
  'show-secrets'?: boolean;
  facts?: boolean;
  k8s?: boolean;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  [k: string]: unknown;
}

/** The local stack's settings, when the endpoints are its own (no URL points elsewhere). */
function localStack(config: SentinelConfig, file: string | undefined): LocalStackSettings | undefined {
  const u = config.urls;
  if (u.database || u.rabbitmq || u.rabbitmqManagement || u.redis) return undefined;
  return {
    source: file ?? 'defaults',
    apiReplicas: config.api.replicas,
    workerReplicas: config.worker.replicas,
    workerPoolSize: config.worker.poolSize,
    workerPrefetch: config.worker.prefetch,
    writeTimeoutMs: config.api.writeTimeoutMs,
    rateLimitPerMinute: config.api.rateLimit,
    consumerTimeoutMs: config.rabbitmq.consumerTimeoutMs,
    channelMax: config.rabbitmq.channelMax,
  };
}

/**
 * tune never edits the cluster: `--write` and `--dry-run` change manifest files (GitOps), so with
 * --k8s they need --manifests or --dotenv (docs/k8s.md "Tuning from the cluster"). Checked on
 * the raw arguments, before the flag definitions' own rule says only that a flag is missing.
 */
export function refuseClusterWrite(argv: string[]): void {
  const has = (f: string) => argv.some((a) => a === f || a.startsWith(`${f}=`));
  const mode = has('--write') ? '--write' : has('--dry-run') ? '--dry-run' : undefined;
  if (!mode || !has('--k8s') || has('--manifests') || has('--dotenv')) return;
  throw new UserError(`${mode} with --k8s alone is refused: tune never edits the cluster.`, {
    suggestion: `Pass --manifests DIR (the Git manifests the cluster is deployed from): ${mode} changes those files, and your GitOps pipeline applies them.`,
  });
}

export abstract class TuneCommand<R = TuneResult> extends SentinelCommand<R> {
  /** --env-file was given (the old name of --dotenv). */
  private oldDotenvName = false;

  override async init(): Promise<void> {
    await super.init();
    // --env-file is read as --dotenv, its new name (see the flag), and warned about.
    this.argv = this.argv.map((a) => {
      if (a !== '--env-file' && !a.startsWith('--env-file=')) return a;
      this.oldDotenvName = true;
      return `--dotenv${a.slice('--env-file'.length)}`;
    });
    refuseClusterWrite(this.argv);
  }

  /** Runs one topic with the shared flags; `extra` carries topic-only facts and options. */
  protected async runTopic(
    topic: TuneTopic,
    flags: TuneFlagValues,
    extra: { facts?: Partial<FactFlags>; options?: Partial<TuneOptions> } = {},
  ): Promise<TuneResult> {
    const options: TuneOptions = { ...this.gatherOptions(flags, extra.facts), ...extra.options };
    if (flags.write) options.mode = 'write';
    else if (flags['dry-run']) options.mode = 'dry-run';
    if (flags['show-secrets']) options.showSecrets = true;
    const result = await runTune(topic, options);
    this.print(result, flags);
    if (flags['exit-code'] && result.write && !result.write.unchanged) {
      throw new CheckFailedError(`${result.write.files.length} file(s) would change.`, {
        code: 'CHANGES_PENDING',
        result,
        suggestion: `Apply them with \`${this.nextCommand(`tune ${topic} --write`)}\`.`,
      });
    }
    return result;
  }

  /** Facts sources from the shared flags and the loaded config (profile, stack endpoints). */
  protected gatherOptions(flags: TuneFlagValues, facts?: Partial<FactFlags>): GatherOptions {
    for (const w of legacyExecWarnings(flags as Parameters<typeof legacyExecWarnings>[0])) this.warnUser(w);
    if (this.oldDotenvName)
      this.warnUser(
        '--env-file is deprecated: use --dotenv (Node.js exits 9 on a missing --env-file file before sentinel-ctl runs).',
      );
    const loaded = this.loadConfig(flags);
    const layer = loaded.sources.get('profile')?.layer;
    return {
      profile: loaded.config.profile,
      profileFrom:
        layer === 'flag' ? 'flag' : layer === 'default' || layer === undefined ? 'default' : 'profile',
      flags: factsFromFlags(flags as Parameters<typeof factsFromFlags>[0], facts),
      ...(flags.manifests ? { manifests: flags.manifests } : {}),
      ...(flags.dotenv ? { envFiles: flags.dotenv } : {}),
      ...(flags['cgroup-root'] ? { cgroupRoot: flags['cgroup-root'] } : {}),
      ...(flags.live
        ? {
            live: {
              endpoints: endpoints(loaded.config),
              timeoutMs: flags.timeout ?? 3000,
              taskQueue: TASK_QUEUE,
              sampleKeys: REDIS_SAMPLE_KEYS,
              ...(localStack(loaded.config, loaded.file)
                ? { local: localStack(loaded.config, loaded.file) }
                : {}),
            },
          }
        : {}),
      ...(flags.k8s
        ? {
            k8s: {
              ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
              ...(flags.context ? { context: flags.context } : {}),
              ...(flags.namespace ? { namespace: flags.namespace } : {}),
            },
          }
        : {}),
      workloads: {
        ...(flags['api-workload'] ? { api: flags['api-workload'] } : {}),
        ...(flags['worker-workload'] ? { worker: flags['worker-workload'] } : {}),
      },
    };
  }

  private print(result: TuneResult, flags: TuneFlagValues): void {
    for (const n of result.notes) this.note(`Note: ${n}`);
    for (const w of result.warnings ?? []) this.warnUser(w);
    // A recommendation's own caveats ("lower maxReplicaCount to 8") are said, not only in --json.
    for (const r of result.rows) {
      for (const w of r.warnings ?? []) this.warnUser(`${r.setting}: ${w.message}`);
    }
    const w = result.write;
    if (!this.jsonEnabled()) {
      if (w?.mode === 'dry-run') process.stdout.write(diffText(w));
      else process.stdout.write(renderTune(result, { facts: flags.facts }));
    }
    if (w) {
      this.note(
        w.unchanged
          ? 'Nothing to change: the files already hold every recommendation.'
          : w.mode === 'dry-run'
            ? `Dry run: ${w.files.length} file(s) would change; nothing was written.`
            : `Wrote ${w.written.length} file(s): ${w.written.join(', ')}.`,
      );
    } else if (result.rows.some((r) => r.status === 'change')) {
      this.note(
        !flags.manifests && !flags.dotenv
          ? 'Preview the change with --dry-run, apply it with --write (both need --manifests or --dotenv).'
          : `Preview the change with \`${this.nextCommand(`tune ${result.topic} --dry-run`)}\`, apply it with \`${this.nextCommand(`tune ${result.topic} --write`)}\`.`,
      );
    }
  }
}
