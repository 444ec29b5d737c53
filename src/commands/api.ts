import { ApiServer, installProcessHandlers } from '../api/server.js';
import { SentinelCommand } from '../cli/base-command.js';
import { endpoints } from '../services/endpoints.js';

export default class ApiCommand extends SentinelCommand<void> {
  static override summary = 'Run the submission API (the process `up` starts).';
  static override description =
    `Serves the Sentinel contract on API_PORT (docs/api.md): POST /api/v1/submissions (202 {job_id, status}; 400 bad input, 405 wrong method, 413 source or stdin over 64 KB or body over 272 KB, 415 not JSON, 429 over API_RATE_LIMIT submissions per minute per client IP with Retry-After, 503 when PostgreSQL or RabbitMQ is unreachable), GET /api/v1/submissions/:id, GET /api/v1/health, and Prometheus metrics at /metrics. A job row is written before the message is published with a publisher confirm; if publishing fails the row is removed again. Every request runs inside one error boundary: a malformed request gets a JSON 4xx and the process keeps serving.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    'API_PORT=8181 API_RATE_LIMIT=1000 <%= config.bin %> <%= command.id %> --state-dir /tmp/stack2',
  ];
  static override enableJsonFlag = false;

  async run(): Promise<void> {
    const { flags } = await this.parse(ApiCommand);
    const { config } = this.loadConfig(flags);
    const e = endpoints(config);
    const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);
    const server = new ApiServer({
      port: config.ports.api,
      host: process.env.API_HOST ?? '127.0.0.1',
      databaseUrl: e.databaseUrl,
      rabbitmqUrl: e.rabbitmqUrl,
      redisUrl: e.redisUrl,
      poolMaxConns: config.api.poolMaxConns,
      rateLimitPerMinute: config.api.rateLimit,
      readTimeoutMs: config.api.readTimeoutMs,
      writeTimeoutMs: config.api.writeTimeoutMs,
      deliveryLimit: config.rabbitmq.deliveryLimit,
      defaults: {
        timeLimitMs: config.worker.defaultTimeLimitMs,
        memoryLimitKb: config.worker.defaultMemoryLimitKb,
      },
      corsOrigin: config.api.corsOrigin,
      trustedProxies: config.api.trustedProxies,
      wsPingIntervalMs: config.api.wsPingIntervalMs,
      log,
    });
    installProcessHandlers(log, server);
    await server.start();
    await new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        log(`api: ${sig} received; closing`);
        server.stop().then(resolve, resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    // Everything is closed; a client library's lingering timer must not keep a stopped service
    // alive until \`down\` loses patience and kills it.
    process.exit(0);
  }
}
