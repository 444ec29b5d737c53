import { Flags } from '@oclif/core';
import { SentinelCommand } from '../cli/base-command.js';
import { servicesFlag } from '../cli/service-flags.js';
import type { StatusK8sResult } from '../k8s/commands.js';
import { statusK8sFlags } from '../k8s/flags.js';
import { CheckFailedError } from '../lib/errors.js';
import { renderTable } from '../lib/table.js';
import { status } from '../services/stack.js';
import type { ServiceStatus } from '../services/types.js';

export interface StatusResult {
  stateDir: string;
  healthy: boolean;
  services: ServiceStatus[];
}

export default class Status extends SentinelCommand<StatusResult | StatusK8sResult> {
  static override summary = 'Health-check every service of the local stack.';
  static override description =
    `For each service: state (running, unhealthy, stopped, stale), pid, ports, the result of a real health check and the server version. Exit code 0 whatever the state, unless --check is given: then 1 when a selected service is not running and healthy (what \`make health\` was).

With --k8s: the objects \`up --k8s\` applied (its inventory in the namespace), each present or missing, and the Deployments and StatefulSets with their ready replicas and why they are not ready. Needs only read access (the sentinel-ctl-read role).`;
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json',
    '<%= config.bin %> <%= command.id %> --services postgres,redis --check',
  ];
  static override flags = {
    services: servicesFlag,
    check: Flags.boolean({ summary: 'Exit 1 unless every selected service is running and healthy.' }),
    ...statusK8sFlags,
  };

  async run(): Promise<StatusResult | StatusK8sResult> {
    const { flags } = await this.parse(Status);
    if (flags.k8s) return (await import('../k8s/commands.js')).statusK8s(flags, this.io());
    const { config } = this.loadConfig(flags);
    const services = await status(config, flags.services);
    const healthy = services.every((s) => s.healthy);
    if (!this.jsonEnabled()) {
      this.log(
        renderTable(
          ['SERVICE', 'STATE', 'PID', 'PORTS', 'VERSION', 'HEALTH'],
          services.map((s) => [
            s.name,
            s.state,
            s.pid,
            s.ports.map((p) => `${p.name}:${p.port}`).join(' '),
            s.version,
            s.health,
          ]),
        ),
      );
    }
    if (flags.check && !healthy) {
      const bad = services.filter((s) => !s.healthy).map((s) => `${s.name} (${s.state})`);
      throw new CheckFailedError(`Not healthy: ${bad.join(', ')}.`, {
        suggestion: 'Start it with `sentinel-ctl up`, or read `sentinel-ctl logs SERVICE`.',
      });
    }
    return { stateDir: config.stateDir, healthy, services };
  }
}
