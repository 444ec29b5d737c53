import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { alertRulesFile, PROM_JOBS } from '../diagnose/windows/promql.js';
import { describeError } from '../lib/errors.js';
import { type LaunchSpec, NativeService } from './native-service.js';
import type { HealthResult, ServicePort, StartContext } from './types.js';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

/**
 * The optional sixth service (`prometheus.enabled: true`): Debian's Prometheus scraping the
 * worker, the API and RabbitMQ's per-queue metrics, with the deployment guide's four alerts
 * ("Monitoring Stack > Alerting") loaded as rules, so the local stack keeps the history production
 * has and `diagnose` reads its windows from it.
 */
export class PrometheusService extends NativeService {
  readonly name = 'prometheus' as const;
  protected override startTimeoutMs = 30_000;

  ports(): ServicePort[] {
    return [{ name: 'http', port: this.config.ports.prometheus }];
  }

  requiredBinaries(): string[] {
    return [PROMETHEUS_BIN];
  }

  get url(): string {
    return `http://127.0.0.1:${this.config.ports.prometheus}`;
  }

  /** prometheus.yml (YAML is a superset of JSON: written as JSON). */
  renderConfig(): string {
    const p = this.config.ports;
    const every = `${this.config.prometheus.scrapeIntervalSeconds}s`;
    const target = (port: number) => [{ targets: [`127.0.0.1:${port}`] }];
    return `${JSON.stringify(
      {
        global: { scrape_interval: every, evaluation_interval: every },
        rule_files: [path.join(this.dir, 'sentinel-alerts.yml')],
        scrape_configs: [
          { job_name: PROM_JOBS.worker, static_configs: target(p.workerMetrics) },
          { job_name: PROM_JOBS.api, static_configs: target(p.api) },
          {
            // Per-queue depth (rabbitmq_detailed_queue_messages) without per-object metrics for all.
            job_name: PROM_JOBS.rabbitmq,
            metrics_path: '/metrics/detailed',
            params: { family: ['queue_coarse_metrics'] },
            static_configs: target(p.rabbitmqPrometheus),
          },
        ],
      },
      null,
      2,
    )}\n`;
  }

  protected async prepare(_ctx: StartContext): Promise<void> {
    mkdirSync(path.join(this.dir, 'data'), { recursive: true });
    writeFileSync(path.join(this.dir, 'prometheus.yml'), this.renderConfig());
    writeFileSync(path.join(this.dir, 'sentinel-alerts.yml'), alertRulesFile());
  }

  protected launchSpecs(): LaunchSpec[] {
    return [
      {
        role: 'server',
        file: PROMETHEUS_BIN,
        args: [
          `--config.file=${path.join(this.dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${path.join(this.dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${this.config.ports.prometheus}`,
          '--storage.tsdb.retention.time=2d',
        ],
        cwd: this.dir,
        match: `--web.listen-address=127.0.0.1:${this.config.ports.prometheus}`,
        stopSignal: 'SIGTERM',
        stopGraceMs: 10_000,
      },
    ];
  }

  async health(timeoutMs = 2000): Promise<HealthResult> {
    try {
      const res = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) return { ok: false, detail: `GET /-/ready → HTTP ${res.status}` };
      const info = await fetch(`${this.url}/api/v1/status/buildinfo`, {
        signal: AbortSignal.timeout(timeoutMs),
      })
        .then((r) => r.json() as Promise<{ data?: { version?: string } }>)
        .catch(() => undefined);
      return { ok: true, detail: 'GET /-/ready → 200', version: info?.data?.version };
    } catch (error) {
      return { ok: false, detail: describeError(error) };
    }
  }
}
