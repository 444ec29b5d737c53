import { buildCatalogue } from '../../../src/audit/catalogue.js';
import type { Attack, AttackContext, Expectation, Observation } from '../../../src/audit/types.js';

/** A stack as the audit would see it at port offset 16000, with every pid known. */
export const ctx: AttackContext = {
  ports: {
    postgres: 21432,
    redis: 22379,
    rabbitmq: 21672,
    rabbitmqManagement: 31672,
    api: 24080,
    workerMetrics: 25090,
  },
  stateDir: '/tmp/sentinel-it-x/state',
  credentialsFile: '/tmp/sentinel-it-x/state/credentials.json',
  configFile: '/tmp/sentinel-it-x/sentinel.config.yaml',
  postgresSocket: '/tmp/sentinel-it-x/state/postgres/socket/.s.PGSQL.21432',
  workerPid: 4242,
  apiPid: 4243,
  canary: { tcpPort: 40001, udpPort: 40002, unixName: 'sentinel-audit-0123456789ab' },
  pidsLimit: 64,
  tmpfsMb: 64,
  hostHostname: 'build-host-7',
  markers: { uid: 'su-0123456789ab', daemon: 'sd-0123456789ab' },
};

export const catalogue = buildCatalogue(ctx);

export function attackById(id: string): Attack {
  const a = catalogue.find((x) => x.id === id);
  if (!a) throw new Error(`no attack ${id}`);
  return a;
}

export const expectOf = (id: string): Expectation => attackById(id).expect;

/** An observation with defaults: a clean SUCCESS with no output. */
export function obs(partial: Partial<Observation>): Observation {
  return {
    status: 'SUCCESS',
    stdout: '',
    stderr: '',
    exitCode: 0,
    timeUsedMs: 100,
    memoryUsedKb: 4000,
    ...partial,
  };
}

/** n BLOCKED lines, as a probe program prints them. */
export const blockedLines = (n: number, what = 'probe'): string =>
  Array.from({ length: n }, (_, i) => `BLOCKED: ${what} ${i + 1}: EPERM\n`).join('');
