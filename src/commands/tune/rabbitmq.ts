import { TuneCommand } from '../../tune-command/command.js';
import { execFlags, podFlags, replicaFlags, sourceFlags, writeFlags } from '../../tune-command/flags.js';
import type { TuneResult } from '../../tune-command/types.js';

export type TuneRabbitmqResult = TuneResult;

export default class TuneRabbitmq extends TuneCommand {
  static override summary = "Set RabbitMQ's memory watermark and disk limit; check consumer_timeout.";
  static override description =
    `The tuning guide's "RabbitMQ > Memory & Disk": vm_memory_high_watermark.relative = 0.6 and disk_free_limit.absolute = 1GB (RabbitMQ's own default is 50MB). consumer_timeout (30 min by default) is shown against prefetch × p99 execution time, channel_max (2047) against one channel per worker goroutine.

--write changes the settings in the rabbitmq.conf ConfigMap key, line by line.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --manifests k8s/ --dry-run',
    '<%= config.bin %> <%= command.id %> --live --json',
  ];
  static override flags = { ...podFlags, ...replicaFlags, ...execFlags, ...sourceFlags, ...writeFlags };

  async run(): Promise<TuneRabbitmqResult> {
    const { flags } = await this.parse(TuneRabbitmq);
    return this.runTopic('rabbitmq', flags);
  }
}
