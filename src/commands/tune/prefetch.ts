import { TuneCommand } from '../../tune-command/command.js';
import { execFlags, sourceFlags, writeFlags } from '../../tune-command/flags.js';
import type { TuneResult } from '../../tune-command/types.js';

export type TunePrefetchResult = TuneResult;

export default class TunePrefetch extends TuneCommand {
  static override summary = "Set the worker's RabbitMQ prefetch from the execution-time distribution.";
  static override description =
    `The tuning guide's "RabbitMQ > Prefetch Count": 1 when execution times vary (Sentinel's default: a 100 ms print next to a 10 s compile, where a higher prefetch blocks the head of the line), 5 for uniform fast executions (p99 within 2 × p50 and under 1 s, this tool's reading of "uniform" and "fast"), 10 only when p99 is under 100 ms. Then lowered so that prefetch × p99 stays under RabbitMQ's consumer_timeout.

Execution times come from the worker's sentinel_execution_duration_seconds histogram (--live) or --p50 / --p99. --write sets WORKER_PREFETCH (or the prefetch variable the worker already reads) in the worker Deployment and in env files.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --live',
    '<%= config.bin %> <%= command.id %> --p50 40ms --p99 80ms',
    '<%= config.bin %> <%= command.id %> --manifests k8s/ --live --write',
  ];
  static override flags = { ...execFlags, ...sourceFlags, ...writeFlags };

  async run(): Promise<TunePrefetchResult> {
    const { flags } = await this.parse(TunePrefetch);
    return this.runTopic('prefetch', flags);
  }
}
