import { existsSync } from 'node:fs';
import { sleep } from '../clients/backoff.js';
import type { SentinelConfig } from '../config/schema.js';
import { describeError, EnvironmentError, ExitCode, SentinelError, UserError } from '../lib/errors.js';
import { ApiService, WorkerService } from './app.js';
import { findPortHolder, isPortFree } from './ports.js';
import { PostgresService } from './postgres/index.js';
import { PrometheusService } from './prometheus.js';
import { RabbitMQService } from './rabbitmq/index.js';
import { RedisService } from './redis.js';
import { readRecord, removeRecord } from './state.js';
import type { ServiceController, ServiceName, ServiceStatus } from './types.js';

/**
 * Every service `up` knows, in start order. `configPath` is handed to the worker and API
 * processes so they load the same config file.
 */
export function createControllers(config: SentinelConfig, configPath?: string): ServiceController[] {
  const all: ServiceController[] = [
    new PostgresService(config),
    new RabbitMQService(config),
    new RedisService(config),
    new WorkerService(config, configPath),
    new ApiService(config, configPath),
  ];
  // The optional sixth: when enabled, or still running from when it was (so `down` stops it).
  if (config.prometheus.enabled || readRecord(config.stateDir, 'prometheus')) {
    all.push(new PrometheusService(config));
  }
  return all;
}

export const stackServiceNames = (config: SentinelConfig): ServiceName[] =>
  createControllers(config).map((c) => c.name);

/** The named services plus everything they depend on, in start order. */
export function selectServices(all: ServiceController[], names?: string[]): ServiceController[] {
  if (!names || names.length === 0) return all;
  const known = new Map(all.map((c) => [c.name as string, c]));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length) {
    throw new UserError(`Unknown service ${unknown.map((u) => `"${u}"`).join(', ')}.`, {
      suggestion: `Choose from ${[...known.keys()].join(', ')}.`,
    });
  }
  const wanted = new Set<string>();
  const add = (n: string) => {
    if (wanted.has(n)) return;
    wanted.add(n);
    for (const d of known.get(n)!.dependsOn) add(d);
  };
  names.forEach(add);
  return all.filter((c) => wanted.has(c.name));
}

export interface UpEntry {
  name: ServiceName;
  /**
   * started: was not running; already-running: healthy, left alone; recovered: was unhealthy only
   * because a dependency was down and became healthy once it was back; restarted: was half-dead or
   * stayed unhealthy with its dependencies up, so it was stopped and started again.
   */
  action: 'started' | 'already-running' | 'recovered' | 'restarted';
  seconds: number;
  pid: number | null;
  ports: Array<{ name: string; port: number }>;
  version: string | null;
}

export interface UpOptions {
  services?: string[];
  configPath?: string;
  signal?: AbortSignal;
  progress?: (message: string) => void;
  /** How long a dependant of a restarted service gets to reconnect before it is restarted too. */
  recoverTimeoutMs?: number;
}

/** Everything that would stop a start, found before anything starts: binaries and ports. */
export async function preflight(toStart: ServiceController[]): Promise<void> {
  const missing = toStart.flatMap((c) => c.requiredBinaries().filter((b) => !existsSync(b)));
  if (missing.length) {
    throw new EnvironmentError(`Missing ${missing.join(', ')}.`, {
      code: 'BINARY_MISSING',
      suggestion:
        'Run `sentinel-ctl setup --yes` to install PostgreSQL, RabbitMQ, Redis and the sandbox tools.',
    });
  }
  const seen = new Map<number, string>();
  for (const c of toStart) {
    for (const p of c.ports()) {
      const other = seen.get(p.port);
      if (other) {
        throw new UserError(`Port ${p.port} is configured twice: ${other} and ${c.name} ${p.name}.`, {
          suggestion: 'Give each port its own number in sentinel.config.yaml (ports.*).',
        });
      }
      seen.set(p.port, `${c.name} ${p.name}`);
    }
  }
  const checks = await Promise.all(
    [...seen].map(async ([port, what]) => ({ port, what, free: await isPortFree(port) })),
  );
  const taken = checks.filter((c) => !c.free);
  if (taken.length) {
    const lines = taken.map(({ port, what }) => {
      const holder = findPortHolder(port);
      const by = holder ? `${holder.command} (pid ${holder.pid})` : 'another process';
      return `Port ${port} (${what}) is taken by ${by}.`;
    });
    throw new EnvironmentError(lines.join('\n'), {
      code: 'PORT_TAKEN',
      suggestion: 'Stop that process, or run with --port-offset N (e.g. 10000) to shift every port.',
    });
  }
}

/** Every service `c` needs, directly or through another one. */
function dependenciesOf(c: ServiceController, all: ServiceController[]): Set<ServiceName> {
  const byName = new Map(all.map((x) => [x.name, x]));
  const out = new Set<ServiceName>();
  const visit = (n: ServiceName) => {
    for (const d of byName.get(n)?.dependsOn ?? []) {
      if (!out.has(d)) {
        out.add(d);
        visit(d);
      }
    }
  };
  visit(c.name);
  return out;
}

/** Polls a service's health until it answers or time runs out. */
async function waitHealthy(c: ServiceController, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!signal.aborted) {
    if ((await c.health(2000)).ok) return true;
    if (Date.now() >= deadline) return false;
    await sleep(250, signal);
  }
  return false;
}

/** What `up` decided for one service before starting anything. */
type Plan =
  | { kind: 'running'; status: ServiceStatus }
  | { kind: 'start'; restart: boolean }
  /** Unhealthy only because something it needs is down: it reconnects once that is back. */
  | { kind: 'await-dependencies'; missing: ServiceName[] }
  /** Unhealthy with everything it needs up: the worker or API get a restart, a server an error. */
  | { kind: 'unhealthy'; status: ServiceStatus };

/**
 * Classifies every selected service from its status: healthy ones are left alone; stopped, stale
 * (pid file left behind) and half-dead ones (some recorded processes gone, e.g. RabbitMQ's beam
 * killed while its epmd lives on) are cleaned and started; an unhealthy one whose dependency is
 * down waits for that dependency.
 */
export async function planUp(
  selected: ServiceController[],
  statuses: Map<ServiceName, ServiceStatus>,
): Promise<Map<ServiceName, Plan>> {
  const plans = new Map<ServiceName, Plan>();
  for (const c of selected) {
    const s = statuses.get(c.name)!;
    if (s.state === 'running') plans.set(c.name, { kind: 'running', status: s });
    else if (s.state === 'stopped' || s.state === 'stale')
      plans.set(c.name, { kind: 'start', restart: false });
    else if (s.partial) plans.set(c.name, { kind: 'start', restart: true });
    else {
      const missing = [...dependenciesOf(c, selected)].filter((d) => statuses.get(d)?.state !== 'running');
      plans.set(
        c.name,
        missing.length ? { kind: 'await-dependencies', missing } : { kind: 'unhealthy', status: s },
      );
    }
  }
  return plans;
}

/** The worker and API are this project's own processes: restarting them loses nothing. */
const restartable = (name: ServiceName) => name === 'worker' || name === 'api';

/**
 * Starts the selected services and brings back the ones that are down: running ones are reported
 * and left alone, stale pid files are cleared, half-dead services are stopped and started again,
 * the rest start in waves (dependencies first) gated on their health checks. A dependant that was
 * unhealthy only because a dependency was down gets time to reconnect, then a restart. If any
 * start fails or the signal aborts, everything this call started is stopped again.
 */
export async function up(config: SentinelConfig, opts: UpOptions = {}): Promise<UpEntry[]> {
  const progress = opts.progress ?? (() => {});
  const signal = opts.signal ?? new AbortController().signal;
  const selected = selectServices(createControllers(config, opts.configPath), opts.services);
  const statuses = new Map(
    (await Promise.all(selected.map((c) => c.status()))).map((s) => [s.name, s] as const),
  );
  const plans = await planUp(selected, statuses);
  const result = new Map<ServiceName, UpEntry>();
  const entry = (
    c: ServiceController,
    s: ServiceStatus,
    action: UpEntry['action'],
    seconds = 0,
  ): UpEntry => ({
    name: c.name,
    action,
    seconds,
    pid: s.pid,
    ports: s.ports,
    version: s.version,
  });
  const toStart: ServiceController[] = [];
  const awaiting: ServiceController[] = [];
  const restarted = new Set<ServiceName>();
  for (const c of selected) {
    const plan = plans.get(c.name)!;
    const s = statuses.get(c.name)!;
    if (plan.kind === 'running') {
      result.set(c.name, entry(c, s, 'already-running'));
    } else if (plan.kind === 'await-dependencies') {
      progress(
        `${c.name}: unhealthy while ${plan.missing.join(', ')} ${plan.missing.length > 1 ? 'are' : 'is'} down; it will reconnect`,
      );
      awaiting.push(c);
    } else if (plan.kind === 'unhealthy') {
      if (!restartable(c.name)) {
        throw new EnvironmentError(`${c.name} is running (pid ${s.pid}) but not healthy: ${s.health}.`, {
          code: 'UNHEALTHY',
          suggestion: `Look at \`sentinel-ctl logs ${c.name}\`, or restart it: \`sentinel-ctl down --services ${c.name}\` then \`up\`.`,
        });
      }
      awaiting.push(c);
    } else {
      if (s.state === 'stale') {
        progress(`${c.name}: removing a stale pid file (pid ${s.pid} is not running)`);
        removeRecord(config.stateDir, c.name);
      } else if (plan.restart) {
        progress(`${c.name}: half-dead (${s.health}); stopping what is left before starting it again`);
        await c.stop();
        restarted.add(c.name);
      }
      toStart.push(c);
    }
  }
  for (const c of toStart) await c.reclaimStrays?.(progress);
  if (toStart.length > 0) await preflight(toStart);

  const inner = new AbortController();
  const onAbort = () => inner.abort();
  signal.addEventListener('abort', onAbort);
  const started: ServiceController[] = [];
  const errors: unknown[] = [];
  const startOne = async (c: ServiceController, action: UpEntry['action']) => {
    started.push(c);
    const t0 = performance.now();
    progress(`${c.name}: starting`);
    try {
      await c.start({ signal: inner.signal, progress });
    } catch (error) {
      errors.push(error);
      inner.abort();
      return;
    }
    const s = await c.status();
    const seconds = Math.round((performance.now() - t0) / 100) / 10;
    progress(
      `${c.name}: healthy in ${seconds} s (pid ${s.pid}, ${s.ports.map((p) => `${p.name} ${p.port}`).join(', ')})`,
    );
    result.set(c.name, entry(c, s, action, seconds));
  };
  try {
    const pending = new Map(toStart.map((c) => [c.name, c]));
    const done = new Set<ServiceName>([...result.keys(), ...awaiting.map((c) => c.name)]);
    // Waves: everything whose dependencies are up starts together.
    while (pending.size > 0 && errors.length === 0 && !inner.signal.aborted) {
      const wave = [...pending.values()].filter((c) =>
        c.dependsOn.every((d) => done.has(d) || !pending.has(d)),
      );
      if (wave.length === 0) throw new Error(`dependency cycle among ${[...pending.keys()].join(', ')}`);
      await Promise.all(
        wave.map(async (c) => {
          pending.delete(c.name);
          await startOne(c, restarted.has(c.name) ? 'restarted' : 'started');
          done.add(c.name);
        }),
      );
    }
    // Dependants that were unhealthy: with their dependencies back they reconnect on their own
    // (backoff up to 10 s); the worker or API that does not is restarted.
    await Promise.all(
      awaiting.map(async (c) => {
        if (errors.length > 0 || inner.signal.aborted) return;
        const t0 = performance.now();
        if (await waitHealthy(c, opts.recoverTimeoutMs ?? 30_000, inner.signal)) {
          const seconds = Math.round((performance.now() - t0) / 100) / 10;
          progress(`${c.name}: recovered in ${seconds} s`);
          result.set(c.name, entry(c, await c.status(), 'recovered', seconds));
          return;
        }
        if (inner.signal.aborted) return;
        if (!restartable(c.name)) {
          const s = await c.status();
          errors.push(
            new EnvironmentError(`${c.name} is running (pid ${s.pid}) but not healthy: ${s.health}.`, {
              code: 'UNHEALTHY',
              suggestion: `Look at \`sentinel-ctl logs ${c.name}\`, or restart it: \`sentinel-ctl down --services ${c.name}\` then \`up\`.`,
            }),
          );
          return;
        }
        progress(`${c.name}: still unhealthy with everything it needs up; restarting it`);
        await c.stop();
        await startOne(c, 'restarted');
      }),
    );
    if (signal.aborted) {
      errors.unshift(
        new SentinelError(
          'Interrupted: stopped what had started; nothing is left running.',
          ExitCode.interrupted,
          {
            code: 'INTERRUPTED',
          },
        ),
      );
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (errors.length > 0 || signal.aborted) {
      progress(`stopping ${started.map((c) => c.name).join(', ') || 'nothing'} again`);
      await Promise.all(started.map((c) => c.stop().catch(() => 'not-running')));
    }
  }
  if (errors.length > 0) {
    const first = errors.find((e) => !(e instanceof SentinelError && e.code === 'ABORTED')) ?? errors[0];
    if (first instanceof SentinelError) throw first;
    throw new EnvironmentError(`Start failed: ${describeError(first)}`, { code: 'START_FAILED' });
  }
  return selected.map((c) => result.get(c.name)!);
}

export interface DownEntry {
  name: ServiceName;
  outcome: 'graceful' | 'killed' | 'not-running';
}

/** Stops what `up` started (dependents first), nothing else. */
export async function down(config: SentinelConfig, services?: string[]): Promise<DownEntry[]> {
  const all = createControllers(config);
  // Only the named ones (not their dependencies): `down --services worker` leaves the databases up.
  const selected = services?.length
    ? selectServices(all, services).filter((c) => services.includes(c.name))
    : all;
  const out: DownEntry[] = [];
  // Reverse dependency order: services nobody selected depends on go first.
  const remaining = [...selected];
  while (remaining.length) {
    const wave = remaining.filter((c) => !remaining.some((o) => o !== c && o.dependsOn.includes(c.name)));
    const batch = wave.length ? wave : remaining.slice();
    const results = await Promise.all(batch.map(async (c) => ({ name: c.name, outcome: await c.stop() })));
    out.push(...results);
    for (const c of batch) remaining.splice(remaining.indexOf(c), 1);
  }
  return createControllers(config)
    .map((c) => out.find((o) => o.name === c.name))
    .filter((o): o is DownEntry => o !== undefined);
}

export async function status(config: SentinelConfig, services?: string[]): Promise<ServiceStatus[]> {
  return Promise.all(selectServices(createControllers(config), services).map((c) => c.status()));
}
