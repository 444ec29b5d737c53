import { TuneCommand } from '../../tune-command/command.js';
import { databaseFlags, podFlags, replicaFlags, sourceFlags, writeFlags } from '../../tune-command/flags.js';
import type { TuneResult } from '../../tune-command/types.js';

export type TunePoolResult = TuneResult;

export default class TunePool extends TuneCommand {
  static override summary = 'Size WORKER_POOL_SIZE, worker resources, pgx pools and max_connections.';
  static override description =
    `Facts come from flags, the cluster's live objects (--k8s, read-only), --manifests / --dotenv, --live, the container's cgroup limits and the host, in that order of precedence; each is listed with where it came from.

WORKER_POOL_SIZE = min(cores, RAM GiB / 0.5) of one worker pod, requests 1 core per 2 workers and 256Mi each, limits 1 core and 512Mi per sandbox (tuning guide "Worker Service"). pool_max_conns per API replica from the guide's table (dev 10, staging 15, prod 20) or, with --db-cpus and --disk, from the hardware rule; pool_min_conns a quarter of it. The worker's own DATABASE_URL gets the connections max_connections counts for it. max_connections = API × pool + max(worker replicas × 2, maxReplicaCount × WORKER_POOL_SIZE) + 10 + superuser_reserved_connections.

--write changes the manifests in place (env, ConfigMap keys, DATABASE_URL in env values, ConfigMaps, Secret stringData or base64 data and .env files, postgresql.conf or -c args) after printing the unified diff; comments, quoting and unrelated lines stay as they were, and a second run changes nothing. --dry-run prints only the diff. Secrets are masked everywhere.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --cpus 4 --memory 8Gi --profile prod',
    '<%= config.bin %> <%= command.id %> --manifests k8s/ --dry-run',
    '<%= config.bin %> <%= command.id %> --manifests k8s/ --dotenv .env --write',
    '<%= config.bin %> <%= command.id %> --live --json',
    '<%= config.bin %> <%= command.id %> --k8s -n sentinel --manifests k8s/ --dry-run',
  ];
  static override flags = { ...podFlags, ...replicaFlags, ...databaseFlags, ...sourceFlags, ...writeFlags };

  async run(): Promise<TunePoolResult> {
    const { flags } = await this.parse(TunePool);
    return this.runTopic('pool', flags);
  }
}
