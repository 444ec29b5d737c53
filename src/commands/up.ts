import { existsSync, rmSync } from 'node:fs';
import { SentinelCommand } from '../cli/base-command.js';
import { servicesFlag } from '../cli/service-flags.js';
import type { UpK8sResult } from '../k8s/commands.js';
import { upK8sFlags } from '../k8s/flags.js';
import { renderTable } from '../lib/table.js';
import { type UpEntry, up } from '../services/stack.js';

export interface UpResult {
  stateDir: string;
  services: UpEntry[];
}

export default class Up extends SentinelCommand<UpResult | UpK8sResult> {
  static override summary = 'Start the local stack (PostgreSQL, RabbitMQ, Redis, worker, API) natively.';
  static override description =
    `Each service runs from the state directory (data, config, logs, pid files), on the configured ports, started in parallel and gated on a real health check: a SQL query, a Redis PING, an AMQP channel. On first start PostgreSQL is initialised (database and role "sentinel", schema migrations) and RabbitMQ gets the execution_tasks quorum queue with its dead-letter exchange.

Running services are reported and left alone, so a second \`up\` changes nothing. If a service fails its health check, its log tail is shown and everything this run started is stopped again. Ctrl-C does the same.

With --k8s: server-side apply (field manager sentinel-ctl) of the \`generate k8s\` set of the profile, or of --manifests, to the cluster of the kubeconfig context; --dry-run shows the server's dry run as a diff (exit 1 when something would change); then a wait for the Deployments and StatefulSets, naming what is not ready and why when --timeout passes. What was applied is listed in the ConfigMap sentinel-ctl-inventory, for \`down --k8s\` (docs/k8s.md).`;
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --services redis,postgres',
    '<%= config.bin %> <%= command.id %> --port-offset 10000 --state-dir /tmp/stack2 --json',
    '<%= config.bin %> <%= command.id %> --k8s --manifests deploy/k8s --dry-run',
    '<%= config.bin %> <%= command.id %> --k8s --context prod --manifests deploy/k8s --timeout 10m',
  ];
  static override flags = { services: servicesFlag, ...upK8sFlags };

  async run(): Promise<UpResult | UpK8sResult> {
    const { flags } = await this.parse(Up);
    if (flags.k8s) {
      const { upK8s } = await import('../k8s/commands.js');
      return upK8s(flags, this.loadConfig(flags).config.profile, this.io());
    }
    const before = this.loadConfig(flags).config.stateDir;
    // A refused start (port taken, binary missing) must leave no new files behind: a state
    // directory this run created is removed again when nothing could start.
    const fresh = !existsSync(before);
    const { config, filePath } = this.loadConfig(flags, { persistCredentials: true });
    const controller = new AbortController();
    const onSignal = () => {
      this.progress('\nInterrupted: stopping what this run started...');
      controller.abort();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const services = await up(config, {
        services: flags.services,
        configPath: filePath,
        signal: controller.signal,
        progress: (m) => this.progress(m),
      });
      if (!this.jsonEnabled()) {
        this.log(
          renderTable(
            ['SERVICE', 'STATE', 'PID', 'PORTS', 'VERSION', 'TIME'],
            services.map((s) => [
              s.name,
              s.action,
              s.pid,
              s.ports.map((p) => `${p.name}:${p.port}`).join(' '),
              s.version,
              s.action === 'already-running' ? '-' : `${s.seconds}s`,
            ]),
          ),
        );
      }
      this.note(
        `State: ${config.stateDir}. Check with \`${this.nextCommand('status')}\`; stop with \`${this.nextCommand('down')}\`.`,
      );
      return { stateDir: config.stateDir, services };
    } catch (error) {
      if (fresh && existsSync(config.stateDir)) rmSync(config.stateDir, { recursive: true, force: true });
      throw error;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}
