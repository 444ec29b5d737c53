import { Flags } from '@oclif/core';
import { SentinelCommand } from '../cli/base-command.js';
import type { FlagOverride } from '../config/load.js';
import { renderReport } from '../diagnose/report.js';
import { DiagnoseSession, deploymentOf, diagnoseOnce, targetsOf } from '../diagnose/session.js';
import { type ComponentName, componentNames, type DiagnoseReport } from '../diagnose/types.js';
import { HistoryFile, historyFile } from '../diagnose/windows/history.js';
import { PrometheusWindows } from '../diagnose/windows/prometheus.js';
import type { K8sDiagnoseReport } from '../k8s/commands.js';
import { diagnoseK8sFlags } from '../k8s/flags.js';
import { durationFlag } from '../lib/duration.js';
import { CheckFailedError } from '../lib/errors.js';
import { MASK } from '../lib/redact.js';
import { fitToTerminal, terminalWidth } from '../lib/terminal.js';
import { TASK_QUEUE } from '../services/rabbitmq/topology.js';

export type DiagnoseResult = DiagnoseReport;

const url = (summary: string, path: string) => ({
  summary: `${summary} (overrides ${path}).`,
  helpGroup: 'TARGETS',
});

/**
 * Every occurrence of the targets' passwords (plain and URL-encoded) in the report's string values
 * replaced by the mask: a net for error texts that quote a connection string. Passwords shorter
 * than 6 characters are left to the URL masking (replacing "x" everywhere would garble the report).
 */
export function scrubPasswords<T>(value: T, urls: string[]): T {
  const secrets = new Set<string>();
  for (const u of urls) {
    try {
      const p = new URL(u).password;
      for (const sec of [p, decodeURIComponent(p)]) if (sec.length >= 6 && sec !== MASK) secrets.add(sec);
    } catch {
      // Not a URL: nothing to take from it.
    }
  }
  const ordered = [...secrets].sort((a, b) => b.length - a.length);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return ordered.reduce((t, sec) => t.split(sec).join(MASK), v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return ordered.length ? (walk(value) as T) : value;
}

export class CriticalFindingsError extends CheckFailedError {
  constructor(readonly report: DiagnoseReport) {
    const critical = report.findings.filter((f) => f.severity === 'critical');
    super(
      `${critical.length} critical finding${critical.length > 1 ? 's' : ''}: ${critical.map((f) => f.id).join(', ')}.`,
      {
        code: 'CRITICAL_FINDINGS',
        result: report,
        suggestion: 'Each finding above names its evidence, the fix and the command that applies it.',
      },
    );
  }
}

export default class Diagnose extends SentinelCommand<DiagnoseResult | K8sDiagnoseReport> {
  static override summary = 'Live metrics from every component, named bottlenecks and the fixes.';
  static override description =
    `Collects PostgreSQL, RabbitMQ (management API, AMQP as fallback), Redis, the worker's /metrics, the API's health and this machine's CPU and memory, each with a timeout and each failing alone (a component that does not answer is itself a finding). Rates come from two samples. The rules are the guides' symptom tables, alerts and resource targets; every finding carries its evidence, the likely bottleneck, the fix, the sentinel-ctl command that applies it and the guide section it comes from.

On a terminal: an interactive view refreshed every --interval (arrows/tab move, enter details, space pause, / filter, ? help, q quit). Without a terminal, or with --once: one plain report on stdout. --json: findings and facts. Exit code 1 when a critical finding exists, so cron and CI can use it.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --once',
    '<%= config.bin %> <%= command.id %> --json --sample-interval 2s',
    '<%= config.bin %> <%= command.id %> --once --database-url postgres://u:pw@db:5432/sentinel',
    'RABBITMQ_MANAGEMENT_URL=http://guest:guest@mq:15672 <%= config.bin %> <%= command.id %>',
  ];
  static override flags = {
    once: Flags.boolean({ summary: 'Print one plain report and exit (the default without a terminal).' }),
    interval: durationFlag({
      default: 2000,
      summary: 'Refresh period of the interactive view (e.g. 2s).',
    }),
    'sample-interval': durationFlag({
      default: 1000,
      summary: 'Pause between the two samples that rates come from, for --once and --json (e.g. 1s).',
    }),
    timeout: durationFlag({
      default: 2000,
      summary: 'Per-collector timeout (a slower component is reported down).',
    }),
    'database-url': Flags.string(url('PostgreSQL URL', 'DATABASE_URL')),
    'rabbitmq-url': Flags.string(url('RabbitMQ AMQP URL', 'RABBITMQ_URL')),
    'rabbitmq-management-url': Flags.string(url('RabbitMQ management API URL', 'RABBITMQ_MANAGEMENT_URL')),
    'redis-url': Flags.string(url('Redis URL', 'REDIS_URL')),
    'worker-metrics-url': Flags.string(url("Worker's Prometheus /metrics URL", 'WORKER_METRICS_URL')),
    'api-url': Flags.string(url('API base URL', 'API_URL')),
    ...diagnoseK8sFlags,
    prometheus: Flags.string({
      summary:
        'Prometheus base URL: the windowed rules (backlog 5 m, workers 3 m, error rate, sandbox failures) use PromQL over its series (overrides PROMETHEUS_URL; the local stack’s own when prometheus.enabled).',
      helpGroup: 'TARGETS',
    }),
    components: Flags.string({
      summary: `Check only these components, comma-separated (${componentNames.join(', ')}).`,
      parse: async (s) => {
        const names = s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean);
        const unknown = names.filter((n) => !(componentNames as readonly string[]).includes(n));
        if (unknown.length || names.length === 0) {
          throw new Error(
            `Unknown component ${unknown.map((u) => `"${u}"`).join(', ') || '(none given)'}: choose from ${componentNames.join(', ')}`,
          );
        }
        return names.join(',');
      },
    }),
    'no-history': Flags.boolean({
      summary:
        'Do not read or write the rolling sample file in the state directory (windows cover this run only).',
    }),
  };

  async run(): Promise<DiagnoseResult | K8sDiagnoseReport> {
    const { flags } = await this.parse(Diagnose);
    const interactive =
      !this.jsonEnabled() && !flags.once && Boolean(process.stdin.isTTY) && Boolean(process.stderr.isTTY);
    // The cluster: pods, workloads, HPA, KEDA, events and the data plane through the service
    // proxy (src/k8s/diagnose.ts, src/k8s/dataplane.ts); on a terminal, with the Kubernetes pane.
    if (flags.k8s) {
      const k8s = await import('../k8s/commands.js');
      if (!interactive) return k8s.diagnoseK8sOnce(flags, this.io());
      if (process.env.NO_COLOR || process.argv.includes('--no-color')) process.env.FORCE_COLOR = '0';
      await k8s.diagnoseK8sInteractive(flags, flags.interval);
      return undefined as unknown as K8sDiagnoseReport;
    }
    const overrides: FlagOverride[] = [
      { path: 'urls.database', value: flags['database-url'], flag: '--database-url' },
      { path: 'urls.rabbitmq', value: flags['rabbitmq-url'], flag: '--rabbitmq-url' },
      {
        path: 'urls.rabbitmqManagement',
        value: flags['rabbitmq-management-url'],
        flag: '--rabbitmq-management-url',
      },
      { path: 'urls.redis', value: flags['redis-url'], flag: '--redis-url' },
      { path: 'urls.workerMetrics', value: flags['worker-metrics-url'], flag: '--worker-metrics-url' },
      { path: 'urls.api', value: flags['api-url'], flag: '--api-url' },
    ];
    overrides.push({ path: 'urls.prometheus', value: flags.prometheus, flag: '--prometheus' });
    const { config } = this.loadConfig(flags, { overrides });
    const targets = targetsOf(config);
    const components = flags.components?.split(',') as ComponentName[] | undefined;
    const promUrl =
      config.urls.prometheus ??
      (config.prometheus.enabled ? `http://127.0.0.1:${config.ports.prometheus}` : undefined);
    const session = new DiagnoseSession(targets, deploymentOf(config, targets), {
      timeoutMs: flags.timeout,
      components,
      history: new HistoryFile(
        flags['no-history'] ? undefined : historyFile(config.stateDir, JSON.stringify(targets)),
        JSON.stringify(targets),
      ),
      prometheus: promUrl ? new PrometheusWindows(promUrl) : undefined,
    });
    let report: DiagnoseReport | undefined;
    try {
      if (interactive) {
        // Loaded only for the interactive view: ink, React and yoga cost ≈ 1.5 s of start-up that
        // --once and --json (cron, CI) should not pay.
        // NO_COLOR (https://no-color.org) and --no-color: chalk, which ink draws with, reads only
        // FORCE_COLOR, and only when it is first loaded, which is here.
        if (process.env.NO_COLOR || process.argv.includes('--no-color')) process.env.FORCE_COLOR = '0';
        const { renderDiagnose } = await import('../diagnose/ui/index.js');
        report = await renderDiagnose(session, { intervalMs: flags.interval, taskQueue: TASK_QUEUE });
      } else {
        report = await diagnoseOnce(session, { sampleIntervalMs: flags['sample-interval'] });
        // Each fix's command carries the flags that selected this stack (--state-dir, --port-offset…).
        for (const f of report.findings) {
          if (f.command?.startsWith('sentinel-ctl ')) f.command = this.nextCommand(f.command.slice(13));
        }
        if (!this.jsonEnabled()) this.log(fitToTerminal(renderReport(report, TASK_QUEUE, terminalWidth())));
      }
    } finally {
      await session.close();
    }
    // Collectors already mask the URLs they quote (masking the report's URLs again garbled them);
    // as a net for error texts, any password of the targets still present is replaced.
    const safe = report && scrubPasswords(report, Object.values(targets));
    // Quitting the interactive view with q is how it ends, not a failure: exit 0 (the report
    // on screen said what was wrong). --once and --json exit 1 on a critical finding.
    if (safe && !safe.healthy && !interactive) throw new CriticalFindingsError(safe);
    return safe as DiagnoseReport;
  }
}
