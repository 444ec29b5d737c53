import { SentinelCommand } from '../cli/base-command.js';
import { startWorker } from '../worker/run.js';

export default class WorkerCommand extends SentinelCommand<void> {
  static override summary = 'Run the sandbox worker (the process `up` starts).';
  static override description =
    `Consumes execution_tasks with WORKER_POOL_SIZE pool workers (one channel and consumer each, prefetch per consumer), runs each job once in the sandbox (nsjail, or bubblewrap where nsjail is missing), stores the result in execution_jobs and only then acknowledges the message. Serves Prometheus metrics on WORKER_METRICS_PORT at /metrics. SIGTERM stops taking work, lets running executions finish (25 s grace), and exits; unfinished messages are redelivered.

Connection strings come from DATABASE_URL, RABBITMQ_URL and REDIS_URL when set, else from the local stack of the config and state directory.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    'WORKER_POOL_SIZE=2 <%= config.bin %> <%= command.id %> --state-dir /tmp/stack2',
  ];
  static override enableJsonFlag = false;

  async run(): Promise<void> {
    const { flags } = await this.parse(WorkerCommand);
    const { config } = this.loadConfig(flags);
    const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);
    const { worker } = await startWorker(config, log);
    await new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        log(`worker: ${sig} received`);
        worker.stop().then(resolve, resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    // Everything is closed; a client library's lingering timer must not keep a stopped service
    // alive until \`down\` loses patience and kills it.
    process.exit(0);
  }
}
