import { Flags } from '@oclif/core';
import { TuneCommand } from '../../tune-command/command.js';
import {
  databaseFlags,
  execFlags,
  podFlags,
  replicaFlags,
  sourceFlags,
  writeFlags,
} from '../../tune-command/flags.js';
import type { TuneResult } from '../../tune-command/types.js';
import { kedaWorkloads } from '../../tuners/index.js';

export type TuneKedaResult = TuneResult;

export default class TuneKeda extends TuneCommand {
  static override summary = "Tune the worker's KEDA ScaledObject: polling, cooldown, replicas, trigger.";
  static override description =
    `The tuning guide's "KEDA Auto-Scaling" values for a workload: its defaults (poll 5 s, cooldown 60 s, 2–50 replicas, 15 messages per worker, +5 pods or +100 % every 30 s, −2 pods every 60 s after 120 s), bursty (poll 3 s, 5 messages, +10 pods / 15 s) or steady (poll 10 s, 30 messages, 300 s scale-down window). maxReplicaCount is kept as the manifests or --max-replicas set it; max_workers = maxReplicaCount × WORKER_POOL_SIZE is checked against max_connections. The cooldown is raised when prefetch × p99 execution time is longer.

The rabbitmq trigger should read the queue over the management API (protocol http, mode QueueLength): over AMQP KEDA counts only ready messages, so work held in prefetch buffers is invisible and busy pods get scaled down. --write sets protocol http only when the trigger's host already is an http:// URL; otherwise it says what to change by hand.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --workload bursty',
    '<%= config.bin %> <%= command.id %> --manifests k8s/ --workload steady --dry-run',
    '<%= config.bin %> <%= command.id %> --manifests k8s/ --live --write',
  ];
  static override flags = {
    workload: Flags.option({ options: kedaWorkloads, default: 'default' as const })({
      summary: "Which of the guide's workloads: its defaults, bursty (homework deadlines) or steady (CI/CD).",
    }),
    ...podFlags,
    ...replicaFlags,
    'max-connections': databaseFlags['max-connections'],
    ...execFlags,
    ...sourceFlags,
    ...writeFlags,
  };

  async run(): Promise<TuneKedaResult> {
    const { flags } = await this.parse(TuneKeda);
    return this.runTopic('keda', flags, { options: { keda: { workload: flags.workload } } });
  }
}
