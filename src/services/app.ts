import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SentinelConfig } from '../config/schema.js';
import { describeError } from '../lib/errors.js';
import { endpoints } from './endpoints.js';
import { type LaunchSpec, NativeService } from './native-service.js';
import type { HealthResult, ServiceName, ServicePort, StartContext } from './types.js';

const RUN_JS = fileURLToPath(new URL('../../bin/run.js', import.meta.url));
const VERSION = (() => {
  try {
    return (
      JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as {
        version: string;
      }
    ).version;
  } catch {
    return undefined;
  }
})();

/**
 * The environment of the worker and API processes: the guides' variable names (so a real Sentinel
 * binary can stand in for ours) plus what our own commands need to load the same config.
 */
export function appEnvironment(config: SentinelConfig, configPath?: string): NodeJS.ProcessEnv {
  const e = endpoints(config);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SENTINEL_STATE_DIR: config.stateDir,
    // The ports below already include the offset: the child must not add it a second time.
    SENTINEL_PORT_OFFSET: '0',
    SENTINEL_PROFILE: config.profile,
    DATABASE_URL: e.databaseUrl,
    RABBITMQ_URL: e.rabbitmqUrl,
    REDIS_URL: e.redisUrl,
    WORKER_POOL_SIZE: String(config.worker.poolSize),
    POOL_SIZE: String(config.worker.poolSize),
    WORKER_PREFETCH: String(config.worker.prefetch),
    WORKER_METRICS_PORT: String(config.ports.workerMetrics),
    METRICS_PORT: String(config.ports.workerMetrics),
    WORKER_DEFAULT_TIME_LIMIT_MS: String(config.worker.defaultTimeLimitMs),
    WORKER_DEFAULT_MEMORY_LIMIT_KB: String(config.worker.defaultMemoryLimitKb),
    WORKER_SANDBOX: config.worker.sandbox,
    NSJAIL_PATH: config.worker.nsjailPath,
    NSJAIL_CONFIG_DIR: config.worker.nsjailConfigDir,
    API_PORT: String(config.ports.api),
    PORT: String(config.ports.api),
    API_RATE_LIMIT: String(config.api.rateLimit),
    API_READ_TIMEOUT: `${config.api.readTimeoutMs}ms`,
    API_WRITE_TIMEOUT: `${config.api.writeTimeoutMs}ms`,
    GIN_MODE: config.api.ginMode,
  };
  if (configPath) env.SENTINEL_CONFIG = configPath;
  else delete env.SENTINEL_CONFIG;
  return env;
}

async function httpCheck(
  url: string,
  timeoutMs: number,
  expect: (body: string) => boolean,
  unhealthy = 'unexpected answer',
  describe: (body: string) => string = () => '',
): Promise<HealthResult> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.text();
    if (res.status !== 200) return { ok: false, detail: `HTTP ${res.status}: ${body.slice(0, 120)}` };
    if (!expect(body)) return { ok: false, detail: `${new URL(url).pathname}: ${unhealthy}` };
    return { ok: true, detail: `GET ${new URL(url).pathname} → 200${describe(body)}`, version: VERSION };
  } catch (error) {
    return { ok: false, detail: describeError(error) };
  }
}

/** "nsjail (cgroups v1)" from the worker's sentinel_sandbox_info line; undefined without one. */
export function sandboxOfMetrics(body: string): string | undefined {
  const m = /^sentinel_sandbox_info\{([^}]*)\}\s+1\b/m.exec(body);
  if (!m) return undefined;
  const label = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(m[1] as string)?.[1];
  const driver = label('driver');
  return driver === undefined ? undefined : `${driver} (cgroups ${label('cgroups') ?? '?'})`;
}

/** A process of this project (or a stand-in binary) started with the stack's environment. */
abstract class AppService extends NativeService {
  override readonly dependsOn: readonly ServiceName[] = ['postgres', 'rabbitmq', 'redis'];

  constructor(
    config: SentinelConfig,
    private readonly configPath?: string,
  ) {
    super(config);
  }

  protected abstract subcommand: 'worker' | 'api';
  protected customCommand(): string[] | undefined {
    return undefined;
  }

  requiredBinaries(): string[] {
    const custom = this.customCommand();
    return custom ? [custom[0]!] : [process.execPath, RUN_JS];
  }

  protected async prepare(_ctx: StartContext): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
  }

  protected launchSpecs(): LaunchSpec[] {
    const custom = this.customCommand();
    const [file, ...args] = custom ?? [
      process.execPath,
      RUN_JS,
      this.subcommand,
      '--state-dir',
      this.stateDir,
    ];
    return [
      {
        role: 'server',
        file: file!,
        args,
        env: appEnvironment(this.config, this.configPath),
        cwd: this.dir,
        match: custom ? path.basename(file!) : `${this.subcommand} --state-dir ${this.stateDir}`,
        stopSignal: 'SIGTERM',
        // Running executions get the worker's own grace (25 s) to finish.
        stopGraceMs: 35_000,
      },
    ];
  }
}

export class WorkerService extends AppService {
  readonly name = 'worker' as const;
  protected subcommand = 'worker' as const;

  protected override customCommand(): string[] | undefined {
    return this.config.worker.command;
  }

  override requiredBinaries(): string[] {
    const sandbox = this.config.worker.sandbox;
    const needsBwrap =
      sandbox === 'bwrap' || (sandbox === 'auto' && !existsSync(this.config.worker.nsjailPath));
    return [
      ...super.requiredBinaries(),
      ...(needsBwrap ? ['/usr/bin/bwrap', '/usr/bin/python3', '/usr/bin/g++'] : []),
    ];
  }

  ports(): ServicePort[] {
    return [{ name: 'metrics', port: this.config.ports.workerMetrics }];
  }

  health(timeoutMs = 2000): Promise<HealthResult> {
    // Healthy = consuming: the contract's gauge of pool workers with a live consumer is ≥ 1
    // (0 while RabbitMQ is down and the worker reconnects).
    return httpCheck(
      endpoints(this.config).workerMetricsUrl.replace(/\/metrics$/, '') + '/metrics',
      timeoutMs,
      (b) => Number(/^sentinel_workers_active(?:\{[^}]*\})? (\S+)$/m.exec(b)?.[1] ?? 0) >= 1,
      'no pool worker is consuming (sentinel_workers_active 0)',
      (b) => {
        const sandbox = sandboxOfMetrics(b);
        return sandbox ? `, sandbox ${sandbox}` : '';
      },
    );
  }
}

export class ApiService extends AppService {
  readonly name = 'api' as const;
  protected subcommand = 'api' as const;

  ports(): ServicePort[] {
    return [{ name: 'http', port: this.config.ports.api }];
  }

  health(timeoutMs = 2000): Promise<HealthResult> {
    return httpCheck(`${endpoints(this.config).apiUrl}/api/v1/health`, timeoutMs, (b) =>
      b.includes('"status":"ok"'),
    );
  }
}
