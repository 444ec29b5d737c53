import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { EnvironmentError } from '../lib/errors.js';
import { Engine, type EnginePlan, now, type StopReason } from './engine.js';
import { createHistogram, decodeHistogram, type Histogram, percentileMs } from './histogram.js';
import { MetricStore, OVERALL, transportKinds } from './metrics.js';
import { createRunner, type RunnerOptions } from './runners.js';
import type { LoadedScenario } from './scenario.js';
import { peakLevel, stagesDuration } from './stages.js';
import { evaluateThresholds, type ThresholdDef, type ThresholdResult } from './thresholds.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker.js';

/** The load to apply, resolved from flags and the scenario file. */
export interface LoadSettings
  extends Pick<
    EnginePlan,
    | 'model'
    | 'startLevel'
    | 'stages'
    | 'warmupMs'
    | 'iterations'
    | 'preAllocatedVUs'
    | 'maxVUs'
    | 'gracefulStopMs'
  > {
  /** Connections per origin in total (split between workers); null: one per request in flight. */
  connections: number | null;
  timeoutMs: number;
  workers: number;
  /** Open connections and send unmeasured requests before the clock starts (default on). */
  prime: boolean;
  /** `--shard i/N`: this process runs share `index` (1-based) of `count`. */
  shard?: { index: number; count: number };
  /** `--start-at`: when the schedule starts (epoch ms), so shards begin together. */
  startAt?: number;
}

export interface BenchPlan {
  scenario: LoadedScenario;
  load: LoadSettings;
  thresholds: ThresholdDef[];
}

/** What the live view and the plain progress lines show. */
export interface ProgressSnapshot {
  model: 'closed' | 'open';
  phase: 'warmup' | 'main' | 'stopping';
  elapsedMs: number;
  totalMs: number;
  vus: number;
  vusMax: number;
  /** VUs (closed) or arrivals/s (open) the schedule asks for now. */
  target: number;
  requests: number;
  /** Requests completed in the last second. */
  rps: number;
  p95: number;
  failures: number;
  dropped: number;
  /** Sentinel scenario: jobs that reached a terminal status, and their e2e p95 (ms). */
  jobs?: number;
  e2eP95?: number;
}

export interface SelfMonitoring {
  eventLoopUtilization: number;
  eventLoopLag: Histogram;
  schedulingDelay: Histogram;
  /** Requests sent before the clock started (connections, JIT). */
  primed: number;
}

export interface BenchOutcome {
  startedAt: Date;
  /** When the measured period began (epoch ms): shards' series line up on it. */
  measuredStart: number;
  /** `--start-at` given: how late the schedule actually started (ms; 0 when on time). */
  startDelayMs?: number;
  measuredMs: number;
  stopReason: StopReason;
  main: MetricStore;
  warmup: MetricStore;
  gauges: { vus: number; vus_max: number };
  self: SelfMonitoring;
  thresholds: ThresholdResult[];
  /** The abortOnFail threshold that stopped the run, if one did. */
  abortedBy?: string;
  warnings: string[];
}

export interface RunHooks {
  onProgress?: (snapshot: ProgressSnapshot) => void;
  /** Handle SIGINT/SIGTERM: the first stops gracefully, the second cuts in-flight requests. */
  handleSignals?: boolean;
  onNote?: (message: string) => void;
}

interface Driver {
  prepare(): Promise<void>;
  start(startAt: number): Promise<void>;
  stop(reason: StopReason): void;
  kill(): void;
  vus(): { vus: number; vusMax: number; target: number };
  result(): { reason: StopReason; stoppedAt?: number; self: SelfMonitoring };
}

/** In-process: one engine writing straight into the run's stores. */
class LocalDriver implements Driver {
  private readonly engine: Engine;
  private reason: StopReason = 'duration';

  constructor(
    plan: EnginePlan,
    init: Omit<WorkerInit, 'plan'>,
    stores: { warmup: MetricStore; main: MetricStore },
  ) {
    this.engine = new Engine(plan, createRunner(init.spec, init.runner), stores);
  }
  prepare() {
    return this.engine.prepare();
  }
  async start(startAt: number) {
    this.reason = await this.engine.run(startAt);
    await this.engine.close();
  }
  stop(reason: StopReason) {
    this.engine.stop(reason);
  }
  kill() {
    this.engine.kill();
  }
  vus() {
    const s = this.engine.status();
    return { vus: s.vus, vusMax: s.vusMax, target: s.target };
  }
  result() {
    return { reason: this.reason, stoppedAt: this.engine.stoppedAt, self: this.engine.selfStats() };
  }
}

/** `--workers N`: N worker threads, each with its share; their per-second deltas are merged here. */
class WorkerDriver implements Driver {
  private readonly workers: Worker[] = [];
  private readonly live: Array<{ vus: number; vusMax: number }> = [];
  private readonly done: Array<Extract<FromWorker, { type: 'done' }> | undefined> = [];
  private readonly ready: Promise<void>[] = [];
  private readonly finished: Promise<void>[] = [];

  constructor(
    plans: EnginePlan[],
    init: Omit<WorkerInit, 'plan'>,
    private readonly stores: { warmup: MetricStore; main: MetricStore },
    private readonly target: () => number,
  ) {
    // Under tsx (tests run from src/) the worker is the .ts file and needs the tsx loader.
    const fromSource = import.meta.url.endsWith('.ts');
    const file = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url);
    plans.forEach((plan, k) => {
      const workerData = { ...init, plan } satisfies WorkerInit;
      const w = fromSource
        ? new Worker(
            `import('tsx/esm/api').then((m) => m.register()).then(() => import(${JSON.stringify(file.href)}))`,
            { eval: true, workerData },
          )
        : new Worker(file, { workerData });
      this.workers.push(w);
      this.live.push({ vus: 0, vusMax: 0 });
      this.done.push(undefined);
      let readyResolve!: () => void;
      let failed!: (e: Error) => void;
      this.ready.push(
        new Promise((resolve, reject) => {
          readyResolve = resolve;
          failed = reject;
        }),
      );
      this.finished.push(
        new Promise((resolve, reject) => {
          w.on('message', (msg: FromWorker) => {
            if (msg.type === 'ready') readyResolve();
            else {
              if (msg.warmup) this.stores.warmup.merge(MetricStore.fromJSON(msg.warmup));
              if (msg.main) this.stores.main.merge(MetricStore.fromJSON(msg.main));
              if (msg.type === 'delta') this.live[k] = { vus: msg.vus, vusMax: msg.vusMax };
              else {
                this.live[k] = { vus: 0, vusMax: msg.vusMax };
                this.done[k] = msg;
                resolve();
              }
            }
          });
          w.on('error', (e) => {
            failed(e);
            reject(e);
          });
          w.on('exit', (code) => {
            if (!this.done[k]) {
              const e = new EnvironmentError(
                `bench worker thread ${k + 1} exited (code ${code}) before finishing.`,
              );
              failed(e);
              reject(e);
            }
          });
        }),
      );
    });
    // A worker that fails before start() is reported by prepare(); keep the rejection handled.
    for (const p of this.finished) p.catch(() => {});
  }
  private post(msg: ToWorker) {
    for (const w of this.workers) w.postMessage(msg);
  }
  async prepare() {
    await Promise.all(this.ready);
  }
  async start(startAt: number) {
    this.post({ type: 'start', startAt });
    await Promise.all(this.finished);
  }
  stop(reason: StopReason) {
    this.post({ type: 'stop', reason });
  }
  kill() {
    this.post({ type: 'kill' });
  }
  vus() {
    return {
      vus: this.live.reduce((a, l) => a + l.vus, 0),
      vusMax: this.live.reduce((a, l) => a + l.vusMax, 0),
      target: this.target(),
    };
  }
  result() {
    const lag = createHistogram();
    const sched = createHistogram();
    let elu = 0;
    let primed = 0;
    let stoppedAt: number | undefined;
    let reason: StopReason = 'duration';
    for (const d of this.done) {
      if (!d) continue;
      lag.add(decodeHistogram(d.self.eventLoopLag));
      sched.add(decodeHistogram(d.self.schedulingDelay));
      elu = Math.max(elu, d.self.eventLoopUtilization);
      primed += d.self.primed;
      if (d.stoppedAt !== undefined) stoppedAt = Math.max(stoppedAt ?? 0, d.stoppedAt);
      if (d.reason !== 'duration') reason = d.reason;
    }
    return {
      reason,
      stoppedAt,
      self: { eventLoopUtilization: elu, eventLoopLag: lag, schedulingDelay: sched, primed },
    };
  }
}

/**
 * Splits the plan into `n` shares: integer VUs/iterations distributed, rates divided, arrivals
 * interleaved. Share k of a plan with phase φ gets phase (k + φ)/n, so splitting a shard's plan
 * again (worker threads) keeps the union of all arrivals equal to the original schedule.
 */
export function splitPlan(plan: EnginePlan, n: number): EnginePlan[] {
  return Array.from({ length: n }, (_, k) => {
    const int = (v: number) => Math.floor(v / n) + (k < v % n ? 1 : 0);
    const level = (v: number) => (plan.model === 'closed' ? int(Math.round(v)) : v / n);
    return {
      ...plan,
      startLevel: level(plan.startLevel),
      stages: plan.stages.map((s) => ({ durationMs: s.durationMs, target: level(s.target) })),
      iterations: plan.iterations === undefined ? undefined : int(plan.iterations),
      preAllocatedVUs: Math.max(1, int(plan.preAllocatedVUs)),
      maxVUs: Math.max(1, int(plan.maxVUs)),
      phase: (k + plan.phase) / n,
      prime: plan.prime && {
        connections: Math.max(1, Math.ceil(plan.prime.connections / n)),
        requests: Math.ceil(plan.prime.requests / n),
      },
    };
  });
}

/**
 * Runs a benchmark: prepares the VUs, starts every engine on one shared clock, merges what they
 * measure each second (progress, abort-on-fail thresholds), stops on the schedule's end, the
 * iteration count, an abortOnFail threshold or Ctrl-C, and returns everything that was measured.
 */
export async function runBench(plan: BenchPlan, hooks: RunHooks = {}): Promise<BenchOutcome> {
  const { load } = plan;
  const stores = { warmup: new MetricStore(), main: new MetricStore() };
  const shardConnections =
    load.connections === null ? null : Math.max(1, Math.ceil(load.connections / (load.shard?.count ?? 1)));
  const perWorkerConnections =
    shardConnections === null ? null : Math.max(1, Math.ceil(shardConnections / load.workers));
  const primeConnections =
    load.connections ?? Math.min(load.model === 'open' ? load.preAllocatedVUs : peakVUs(load), 512);
  let enginePlan: EnginePlan = {
    model: load.model,
    startLevel: load.startLevel,
    stages: load.stages,
    warmupMs: load.warmupMs,
    iterations: load.iterations,
    preAllocatedVUs: load.preAllocatedVUs,
    maxVUs: load.maxVUs,
    gracefulStopMs: load.gracefulStopMs,
    phase: 0,
    // Enough requests for the JIT to compile the client's hot path, and one per connection at once.
    prime: load.prime
      ? { connections: primeConnections, requests: Math.max(2 * primeConnections, 2000) }
      : undefined,
  };
  // The shard's own share first (its connections are then split between its worker threads).
  if (load.shard) enginePlan = splitPlan(enginePlan, load.shard.count)[load.shard.index - 1]!;
  const runner: RunnerOptions = {
    connections: perWorkerConnections,
    perVuConnections: load.model === 'closed',
    timeoutMs: load.timeoutMs,
    // Single-URL mode (no scenario file): the lean HTTP/1.1 client.
    lean: plan.scenario.file === undefined && plan.scenario.spec.kind === 'http',
  };
  const init = { spec: plan.scenario.spec, runner };
  const totalMs = load.warmupMs + stagesDuration(load.stages);
  let startAt = 0;
  const targetNow = () => {
    const t = now() - startAt - load.warmupMs;
    if (t < 0) return load.startLevel;
    let from = load.startLevel;
    let rest = t;
    for (const s of load.stages) {
      if (rest < s.durationMs) return from + ((s.target - from) * rest) / s.durationMs;
      rest -= s.durationMs;
      from = s.target;
    }
    return from;
  };
  const driver: Driver =
    load.workers > 1
      ? new WorkerDriver(splitPlan(enginePlan, load.workers), init, stores, targetNow)
      : new LocalDriver(enginePlan, init, stores);

  const warnings: string[] = [];
  let stopping = false;
  let abortedBy: string | undefined;
  let interrupts = 0;
  const onSignal = () => {
    interrupts += 1;
    if (interrupts === 1) {
      hooks.onNote?.(
        `Stopping: letting in-flight requests finish (up to ${load.gracefulStopMs / 1000} s); press Ctrl-C again to cut them.`,
      );
      stopping = true;
      driver.stop('interrupted');
    } else driver.kill();
  };
  if (hooks.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  const startedAt = new Date();
  let lastRequests = 0;
  let ticker: NodeJS.Timeout | undefined;
  let startDelayMs: number | undefined;
  try {
    // Everything that can be prepared is, before the clock: VUs, connections, priming requests.
    await driver.prepare();
    // Workers share one clock: start a little ahead so every thread is waiting when it comes.
    const ready = now() + (load.workers > 1 ? 100 : 0);
    if (load.startAt !== undefined) {
      // Shards begin together; one that is still preparing at the start time starts as soon as it
      // is ready (its schedule shifted, never compressed into a burst) and reports how late.
      startDelayMs = Math.max(0, Math.round(ready - load.startAt));
      startAt = Math.max(ready, load.startAt);
      if (startDelayMs > 0)
        warnings.push(
          `This shard was ready ${startDelayMs} ms after --start-at: its schedule started that much later than the others'. Give a later --start-at.`,
        );
      else hooks.onNote?.(`Prepared; starting at ${new Date(startAt).toISOString()}.`);
    } else startAt = ready;
    const abortDefs = plan.thresholds.filter((t) => t.abortOnFail);
    ticker = setInterval(() => {
      const t = now();
      const overall = stores.main.requests.get(OVERALL);
      const requests = overall?.count ?? 0;
      const v = driver.vus();
      const elapsed = Math.max(0, t - startAt);
      hooks.onProgress?.({
        model: load.model,
        phase: stopping ? 'stopping' : elapsed < load.warmupMs ? 'warmup' : 'main',
        elapsedMs: Math.min(elapsed, totalMs),
        totalMs,
        vus: v.vus,
        vusMax: v.vusMax,
        target: Math.round(v.target * 100) / 100,
        requests,
        rps: requests - lastRequests,
        p95: overall ? percentileMs(overall.duration, 95) : Number.NaN,
        failures: overall?.failed ?? 0,
        dropped: stores.main.counter('dropped_iterations'),
        ...(plan.scenario.spec.kind === 'sentinel'
          ? {
              jobs: stores.main.counter('iterations'),
              e2eP95: (() => {
                const h = stores.main.trend('e2e_duration');
                return h ? percentileMs(h, 95) : Number.NaN;
              })(),
            }
          : {}),
      });
      lastRequests = requests;
      // k6's abortOnFail: evaluated while the run goes, after its delayAbortEval.
      const measuredMs = elapsed - load.warmupMs;
      if (!stopping && abortDefs.length > 0 && measuredMs > 0) {
        const due = abortDefs.filter((d) => measuredMs >= d.delayAbortEvalMs);
        const results = evaluateThresholds(due, {
          store: stores.main,
          durationMs: measuredMs,
          gauges: { vus: v.vus, vus_max: v.vusMax },
        });
        const failed = results.find((r) => !r.pass && r.observed !== null);
        if (failed) {
          abortedBy = `${failed.metric}: ${failed.expression}`;
          hooks.onNote?.(
            `Threshold ${abortedBy} failed (observed ${failed.observedText}); aborting the run.`,
          );
          stopping = true;
          driver.stop('threshold');
        }
      }
    }, 1000);
    await driver.start(startAt);
  } finally {
    clearInterval(ticker);
    if (hooks.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  const res = driver.result();
  const mainStart = startAt + load.warmupMs;
  const measuredMs = Math.max(0, (res.stoppedAt ?? now()) - mainStart);
  const v = driver.vus();
  const gauges = { vus: v.vus, vus_max: v.vusMax };
  const thresholds = evaluateThresholds(plan.thresholds, {
    store: stores.main,
    durationMs: measuredMs,
    gauges,
  });
  warnings.push(...selfWarnings(res.self, load, stores.main), ...targetWarnings(plan, stores.main));
  return {
    startedAt,
    measuredStart: mainStart,
    startDelayMs,
    measuredMs,
    stopReason: abortedBy ? 'threshold' : res.reason,
    main: stores.main,
    warmup: stores.warmup,
    gauges,
    self: res.self,
    thresholds,
    abortedBy,
    warnings,
  };
}

/**
 * The generator's verdict on itself, for the measured period only (warm-up excluded): a busy event
 * loop, or lateness (event-loop lag, late arrivals) large enough to explain the percentiles it
 * reports. Lateness well below the reported latencies is noise and not worth a warning.
 */
export function selfWarnings(self: SelfMonitoring, load: LoadSettings, store: MetricStore): string[] {
  const out: string[] = [];
  const cores = availableParallelism();
  if (self.eventLoopUtilization > 0.9) {
    out.push(
      `The load generator was busy ${Math.round(self.eventLoopUtilization * 100)} % of the time: it may be the bottleneck. ` +
        (load.workers < cores
          ? `Run with --workers ${Math.min(cores, load.workers * 2)} (this machine has ${cores} cores) or lower the load.`
          : 'Lower the load or run the generator on a bigger machine.'),
    );
  }
  const all = store.requests.get(OVERALL);
  const reported = all && all.count > 0 ? percentileMs(all.duration, 99) : Number.NaN;
  const explains = (late: number) => late > 1 && (Number.isNaN(reported) || late >= 0.1 * reported);
  const share = (late: number) =>
    Number.isNaN(reported)
      ? ''
      : ` — ${Math.round((late / reported) * 100)} % of the reported p99 (${reported} ms)`;
  const lagP99 = percentileMs(self.eventLoopLag, 99);
  if (explains(lagP99))
    out.push(
      `The generator's event loop ran up to ${lagP99} ms late (p99)${share(lagP99)}: that much of the tail may be the generator's, not the target's.`,
    );
  if (load.model === 'open') {
    const schedP99 = percentileMs(self.schedulingDelay, 99);
    // Lateness beyond the event loop's own (bursts of due arrivals); otherwise the lag line says it.
    if (explains(schedP99) && schedP99 >= 2 * Math.max(lagP99, 1)) {
      out.push(
        `Arrivals started up to ${schedP99} ms late (p99 scheduling delay)${share(schedP99)}; latencies count from the due time, so that lateness is the generator's.`,
      );
    }
  }
  const dropped = store.counter('dropped_iterations');
  const late = store.counter('dropped_iterations_late');
  if (late > 0) {
    out.push(
      `${late} arrivals were dropped while the generator itself was more than 50 ms behind its schedule: the generator's lateness, not the target's.`,
    );
  }
  if (dropped - late > 0) {
    out.push(
      `${dropped - late} arrivals were dropped because all ${load.maxVUs} VUs were busy: the target is slower than the rate asks. Raise --max-vus to keep sending.`,
    );
  }
  return out;
}

const causeText: Record<string, string> = {
  timeout: 'timed out',
  refused: 'connection refused',
  reset: 'connection reset',
  dns: 'DNS failure',
  tls: 'TLS failure',
  network: 'other network error',
};

/** When the target itself failed (no response, or mostly error statuses), say so and how. */
export function targetWarnings(plan: BenchPlan, store: MetricStore): string[] {
  const all = store.requests.get(OVERALL);
  if (!all || all.count === 0) return [];
  const out: string[] = [];
  const transport = transportKinds.filter((k) => all.failures[k] > 0);
  if (transport.length > 0) {
    const n = transport.reduce((a, k) => a + all.failures[k], 0);
    const text = transport.map((k) => `${all.failures[k]} ${causeText[k]}`).join(', ');
    out.push(
      `The target failed ${n} of ${all.count} requests without a response (${text})${all.failures.refused > 0 ? ` — is it running at ${plan.scenario.spec.baseUrl}?` : '.'}`,
    );
  }
  if (all.failures.status > all.count / 10) {
    out.push(
      `The target answered ${all.failures.status} of ${all.count} requests with an unexpected status.`,
    );
  }
  return out;
}

/** Highest VUs the closed schedule needs, for defaults of connections. */
export function peakVUs(load: Pick<LoadSettings, 'startLevel' | 'stages'>): number {
  return Math.ceil(peakLevel(load.stages, load.startLevel));
}
