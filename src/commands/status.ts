import { Flags } from '@oclif/core';
import { SentinelCommand } from '../cli/base-command.js';
import { servicesFlag } from '../cli/service-flags.js';
import { CheckFailedError } from '../lib/errors.js';
import { renderTable } from '../lib/table.js';
import { status } from '../services/stack.js';
import type { ServiceStatus } from '../services/types.js';

export interface StatusResult {
  stateDir: string;
  healthy: boolean;
  services: ServiceStatus[];
}

export default class Status extends SentinelCommand<StatusResult> {
  static override summary = 'Health-check every service of the local stack.';
  static override description =
    `For each service: state (running, unhealthy, stopped, stale), pid, ports, the result of a real health check and the server version. Exit code 0 whatever the state, unless --check is given: then 1 when a selected service is not running and healthy (what \`make health\` was).`;
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json',
    '<%= config.bin %> <%= command.id %> --services postgres,redis --check',
  ];
  static override flags = {
    services: servicesFlag,
    check: Flags.boolean({ summary: 'Exit 1 unless every selected service is running and healthy.' }),
  };

  async run(): Promise<StatusResult> {
    const { flags } = await this.parse(Status);
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
