import { SentinelCommand } from '../cli/base-command.js';
import { servicesFlag } from '../cli/service-flags.js';
import type { DownResult as DownK8sResult } from '../k8s/commands.js';
import { downK8sFlags } from '../k8s/flags.js';
import { renderTable } from '../lib/table.js';
import { type DownEntry, down } from '../services/stack.js';

export interface DownResult {
  stateDir: string;
  services: DownEntry[];
}

export default class Down extends SentinelCommand<DownResult | DownK8sResult> {
  static override summary = 'Stop the local stack that `up` started.';
  static override description =
    `Stops only the processes recorded in the state directory's pid files (a server on the same port that \`up\` did not start is left alone), gracefully first: PostgreSQL fast shutdown, RabbitMQ's own stop, Redis SIGTERM; whatever is left after the grace period is killed with its whole process group. Data stays in the state directory for the next \`up\`.

With --k8s: deletes exactly the objects \`up --k8s\` applied (its inventory), and nothing else; objects that existed before, and a namespace that still holds objects sentinel-ctl did not apply, are kept and named.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --services redis',
    '<%= config.bin %> <%= command.id %> --state-dir /tmp/stack2 --json',
  ];
  static override flags = { services: servicesFlag, ...downK8sFlags };

  async run(): Promise<DownResult | DownK8sResult> {
    const { flags } = await this.parse(Down);
    if (flags.k8s) return (await import('../k8s/commands.js')).downK8s(flags, this.io());
    const { config } = this.loadConfig(flags);
    const services = await down(config, flags.services);
    if (!this.jsonEnabled()) {
      this.log(
        renderTable(
          ['SERVICE', 'RESULT'],
          services.map((s) => [s.name, describe(s.outcome)]),
        ),
      );
    }
    return { stateDir: config.stateDir, services };
  }
}

function describe(outcome: DownEntry['outcome']): string {
  switch (outcome) {
    case 'graceful':
      return 'stopped';
    case 'killed':
      return 'killed after the grace period';
    case 'not-running':
      return 'was not running';
  }
}
