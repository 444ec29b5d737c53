import { performance } from 'node:perf_hooks';
import { ClosedExecutor } from './executors/closed.js';
import { OpenExecutor } from './executors/open.js';
import { createHistogram, type Histogram, recordMs } from './histogram.js';
import { LagSampler, now } from './lag.js';
import { MetricStore } from './metrics.js';
import { levelAt, type Stage, stagesDuration } from './stages.js';

export { now };

/** How one engine (one thread) drives its share of the load. */
export interface EnginePlan {
  model: 'closed' | 'open';
  /** VUs (closed) or arrivals per second (open) when the measured schedule starts; also the warm-up level. */
  startLevel: number;
  /** The measured schedule; a constant load is one stage whose target equals startLevel. */
  stages: Stage[];
  warmupMs: number;
  /** Stop after this many measured iterations (k6's shared-iterations), if set. */
  iterations?: number;
  /** Open model: VUs set up before the start, and the most that may exist. */
  preAllocatedVUs: number;
  maxVUs: number;
  /** After the end (or Ctrl-C), how long in-flight iterations may finish before they are cut. */
  gracefulStopMs: number;
  /** Open model: offset of this thread's arrivals, in [0, 1), so several threads interleave. */
  phase: number;
  /** Connections to open and requests to send before the clock starts (0: none). */
  prime?: { connections: number; requests: number };
}

export interface VirtualUser {
  id: number;
  vars: Record<string, string>;
  iter: number;
  ready: boolean;
  /** Closed model: the VU's loop is alive. */
  running: boolean;
  /** Closed model: asked to stop after its current iteration (ramp-down). */
  retired: boolean;
}

/** What a scenario sees while it runs: the store of the current phase and stop-aware sleeping. */
export interface IterationContext {
  store: MetricStore;
  /** Series second for a completion time, undefined during warm-up. */
  second(t: number): number | undefined;
  /** Sleeps; resolves false when the run is stopping (think time) or was cut (`untilKill`). */
  sleep(ms: number, untilKill?: boolean): Promise<boolean>;
}

export interface ScenarioRunner {
  setup(vu: VirtualUser, ctx: IterationContext): Promise<void>;
  /** One iteration; `dueAt` (open model) is when it was scheduled, the origin of its latencies. */
  iterate(vu: VirtualUser, ctx: IterationContext, dueAt: number | undefined): Promise<void>;
  /**
   * The same iteration without promises, when the runner has it: `done` is called once the
   * iteration is recorded, always later (never synchronously), with the clock it recorded at.
   * `startedAt` is the clock the caller has just read: the generator's hot path reads the clock
   * once per request, not once per layer.
   */
  iterateCb?(
    vu: VirtualUser,
    ctx: IterationContext,
    dueAt: number | undefined,
    startedAt: number,
    done: (endedAt: number) => void,
  ): void;
  /** Think time after an iteration (closed model), in ms; 0 for none. */
  thinkMs(): number;
  /**
   * Before the clock starts: opens `connections` connections (one request on each at once) and
   * sends unmeasured requests until `requests` were sent, so connection set-up and the JIT's
   * first compilations do not land in the measured period. Resolves with the requests sent.
   */
  prime?(connections: number, requests: number): Promise<number>;
  close(force: boolean): Promise<void>;
}

export type StopReason = 'duration' | 'iterations' | 'interrupted' | 'threshold';

/** The generator watching itself (docs/design.md "Bench": the generator must not be the bottleneck). */
export interface SelfStats {
  /** Share of time the event loop was busy (0–1) in the measured period; near 1 the generator limits the load itself. */
  eventLoopUtilization: number;
  /** Event-loop lag in the measured period, without the sampling interval (see LagSampler). */
  eventLoopLag: Histogram;
  /** How late arrivals (open model) or think-time wake-ups (closed model) ran, measured period only. */
  schedulingDelay: Histogram;
  /** Requests sent before the clock started to open connections and warm the JIT. */
  primed: number;
}

export interface EngineStatus {
  phase: 'warmup' | 'main' | 'stopping' | 'done';
  vus: number;
  vusMax: number;
  /** VUs (closed) or rate (open) the schedule asks for now. */
  target: number;
  inFlight: number;
}

/** One load model's way of starting iterations (k6 keeps one executor per model, too). */
export interface Executor {
  /** VUs set up before the clock starts. */
  preparedVUs(): number;
  start(): void;
  /** VUs busy now (closed: looping; open: in flight). */
  busyVUs(): number;
  /** True when nothing is running any more (the engine may finish). */
  idle(): boolean;
}

/** A sink for results that arrive after a hard stop: they are not part of the run. */
const discard = new MetricStore();

/**
 * One thread's load engine: the VUs, the clock, the stores and the stop logic shared by both load
 * models; the models themselves are the executors (executors/closed.ts, executors/open.ts).
 * Everything that can be done before the clock starts is (VUs and their setup, connections,
 * priming requests for the JIT): the schedule starts when the generator is ready.
 */
export class Engine {
  startAt = 0;
  mainStart = 0;
  mainEnd = 0;
  private lastSecond = 0;
  /** When stop() was first called: the end of the measured period. */
  stoppedAt?: number;
  readonly warm: IterationContext;
  readonly main: IterationContext;
  readonly vus: VirtualUser[] = [];
  private readonly sleepers = new Set<{
    resolve: (ok: boolean) => void;
    untilKill: boolean;
    timer: NodeJS.Timeout;
  }>();
  inFlight = 0;
  started = 0;
  private completed = 0;
  stopping = false;
  killed = false;
  private graceTimer?: NodeJS.Timeout;
  private mainTimer?: NodeJS.Timeout;
  private vuTimer?: NodeJS.Timeout;
  private finish!: (reason: StopReason) => void;
  private beforeKill?: { warmup: MetricStore; main: MetricStore };
  private reason: StopReason = 'duration';
  private readonly done: Promise<StopReason>;
  private readonly lag = new LagSampler();
  private elu?: ReturnType<typeof performance.eventLoopUtilization>;
  private eluMain?: ReturnType<typeof performance.eventLoopUtilization>;
  private primed = 0;
  /** Most VUs busy in each measured second. */
  private readonly vuSeries = new Map<number, number>();
  readonly schedulingDelay = createHistogram();
  private readonly executor: Executor;
  /** Timer handles of the executor, cleared on stop. */
  timer?: NodeJS.Timeout;

  constructor(
    readonly plan: EnginePlan,
    readonly runner: ScenarioRunner,
    stores: { warmup: MetricStore; main: MetricStore },
  ) {
    const ctx = (store: MetricStore, measured: boolean): IterationContext => ({
      store,
      second: measured ? (t) => this.secondOf(t) : () => undefined,
      sleep: (ms, untilKill) => this.sleep(ms, untilKill ?? false),
    });
    this.warm = ctx(stores.warmup, false);
    this.main = ctx(stores.main, true);
    this.done = new Promise((resolve) => {
      this.finish = resolve;
    });
    this.executor = plan.model === 'closed' ? new ClosedExecutor(this) : new OpenExecutor(this);
  }

  /** The series second of a time; completions after the end count in the last second. */
  secondOf(t: number): number {
    return Math.min(Math.max(0, Math.floor((t - this.mainStart) / 1000)), this.lastSecond);
  }

  /**
   * Before the clock: creates and sets up the VUs the model starts with (setup requests count in
   * the warm-up figures), opens the connections and primes them (unmeasured).
   */
  async prepare(): Promise<void> {
    const vus = Array.from({ length: this.executor.preparedVUs() }, () => this.newVU());
    await Promise.all(
      vus.map(async (vu) => {
        await this.runner.setup(vu, this.warm);
        vu.ready = true;
      }),
    );
    const p = this.plan.prime;
    if (p && p.connections > 0 && this.runner.prime)
      this.primed = await this.runner.prime(p.connections, p.requests);
  }

  /** VUs created and not yet taken by the open model's free list. */
  preparedIdle(): VirtualUser[] {
    return this.vus.filter((vu) => vu.ready && !vu.running);
  }

  /** Runs until the schedule ends, the iterations are done, or stop()/kill(); resolves with why. */
  async run(startAt: number): Promise<StopReason> {
    this.startAt = startAt;
    this.mainStart = startAt + this.plan.warmupMs;
    this.mainEnd = this.mainStart + stagesDuration(this.plan.stages);
    this.lastSecond = Math.max(0, Math.ceil(stagesDuration(this.plan.stages) / 1000) - 1);
    this.elu = performance.eventLoopUtilization();
    const wait = this.startAt - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // The self-report covers the measured period only: the warm-up is not what the figures describe.
    this.mainTimer = setTimeout(() => this.beginMain(), Math.max(0, this.mainStart - now()));
    this.executor.start();
    const reason = await this.done;
    clearTimeout(this.mainTimer);
    this.lag.stop();
    clearInterval(this.vuTimer);
    const target = this.beforeKill?.main ?? this.main.store;
    for (const [sec, n] of this.vuSeries) target.bucket(sec).vus += n;
    return reason;
  }

  private beginMain(): void {
    if (this.killed) return;
    this.lag.start();
    this.eluMain = performance.eventLoopUtilization();
    const sample = () => {
      const t = now();
      if (t < this.mainStart || this.stopping) return;
      const sec = this.secondOf(t);
      this.vuSeries.set(sec, Math.max(this.vuSeries.get(sec) ?? 0, this.executor.busyVUs()));
    };
    sample();
    this.vuTimer = setInterval(sample, 100);
    this.vuTimer.unref();
  }

  status(): EngineStatus {
    const t = now();
    const phase = this.killed ? 'done' : this.stopping ? 'stopping' : t < this.mainStart ? 'warmup' : 'main';
    const target =
      t < this.mainStart
        ? this.plan.startLevel
        : levelAt(this.plan.stages, t - this.mainStart, this.plan.startLevel);
    return {
      phase,
      vus: this.executor.busyVUs(),
      vusMax: this.vus.length,
      target: Math.round(target * 100) / 100,
      inFlight: this.inFlight,
    };
  }

  selfStats(): SelfStats {
    const base = this.eluMain ?? this.elu;
    const u = base ? performance.eventLoopUtilization(base).utilization : 0;
    return {
      eventLoopUtilization: u,
      eventLoopLag: this.lag.histogram,
      schedulingDelay: this.schedulingDelay,
      primed: this.primed,
    };
  }

  /** Releases the connections once the run is over. */
  close(): Promise<void> {
    return this.runner.close(false);
  }

  /** Hands over what was recorded since the last call and records into fresh stores (worker deltas). */
  takeStores(): { warmup: MetricStore; main: MetricStore } {
    if (this.beforeKill) {
      const taken = this.beforeKill;
      this.beforeKill = { warmup: new MetricStore(), main: new MetricStore() };
      return taken;
    }
    const taken = { warmup: this.warm.store, main: this.main.store };
    this.warm.store = new MetricStore();
    this.main.store = new MetricStore();
    return taken;
  }

  /** When the measured period started (after warm-up). */
  get measuredStart(): number {
    return this.mainStart;
  }

  /** Stops starting iterations; those in flight get the graceful-stop period to finish. */
  stop(reason: StopReason): void {
    if (this.stopping) return;
    this.stopping = true;
    this.stoppedAt = Math.min(now(), this.mainEnd || now());
    this.reason = reason;
    clearTimeout(this.timer);
    for (const s of [...this.sleepers]) {
      if (!s.untilKill) this.wake(s, false);
    }
    this.graceTimer = setTimeout(() => this.kill(), this.plan.gracefulStopMs);
    this.graceTimer.unref();
    this.checkDone();
  }

  /** Cuts the run now: in-flight requests are aborted and their results discarded. */
  kill(): void {
    if (this.killed) return;
    if (!this.stopping) this.stop('interrupted');
    this.killed = true;
    clearTimeout(this.graceTimer);
    this.beforeKill = { warmup: this.warm.store, main: this.main.store };
    this.warm.store = discard;
    this.main.store = discard;
    for (const s of [...this.sleepers]) this.wake(s, false);
    void this.runner.close(true);
    this.finish(this.reason);
  }

  checkDone(): void {
    if (this.stopping && this.executor.idle() && !this.killed) {
      clearTimeout(this.graceTimer);
      this.killed = true;
      this.finish(this.reason);
    }
  }

  private wake(s: { resolve: (ok: boolean) => void; timer: NodeJS.Timeout }, ok: boolean): void {
    clearTimeout(s.timer);
    this.sleepers.delete(s as never);
    s.resolve(ok);
  }

  sleep(ms: number, untilKill: boolean): Promise<boolean> {
    if (this.killed || (this.stopping && !untilKill)) return Promise.resolve(false);
    return new Promise((resolve) => {
      const due = now() + ms;
      const entry = {
        resolve,
        untilKill,
        timer: setTimeout(() => {
          const t = now();
          if (t >= this.mainStart) recordMs(this.schedulingDelay, Math.max(0, t - due));
          this.wake(entry, true);
        }, ms),
      };
      this.sleepers.add(entry);
    });
  }

  newVU(): VirtualUser {
    const vu: VirtualUser = {
      id: this.vus.length + 1,
      vars: {},
      iter: 0,
      ready: false,
      running: false,
      retired: false,
    };
    this.vus.push(vu);
    return vu;
  }

  ctxFor(t: number): IterationContext {
    return t < this.mainStart ? this.warm : this.main;
  }

  iterationsLeft(t: number): boolean {
    if (this.plan.iterations === undefined || t < this.mainStart) return true;
    return this.started < this.plan.iterations;
  }

  /** Runs one iteration on a VU (setting it up first if needed); latencies count from `due` when given. */
  async iterate(vu: VirtualUser, ctx: IterationContext, due: number | undefined): Promise<void> {
    if (ctx === this.main) this.started += 1;
    this.inFlight += 1;
    try {
      if (!vu.ready) {
        await this.runner.setup(vu, ctx);
        vu.ready = true;
      }
      vu.iter += 1;
      const begin = due ?? now();
      await this.runner.iterate(vu, ctx, due);
      if (!this.killed) this.afterIteration(ctx, begin);
    } finally {
      this.inFlight -= 1;
    }
  }

  /**
   * `iterate` without promises (when the runner has `iterateCb` and the VU is set up): `done` is
   * called when the iteration is over, always later, with the clock at its end. `startedAt` is
   * the clock the caller has just read. Otherwise the same steps as `iterate`.
   */
  iterateCb(
    vu: VirtualUser,
    ctx: IterationContext,
    due: number | undefined,
    startedAt: number,
    done: (endedAt: number) => void,
  ): void {
    const runner = this.runner;
    if (!runner.iterateCb || !vu.ready) {
      void this.iterate(vu, ctx, due).then(() => done(now()));
      return;
    }
    if (ctx === this.main) this.started += 1;
    this.inFlight += 1;
    vu.iter += 1;
    const begin = due ?? startedAt;
    runner.iterateCb(vu, ctx, due, startedAt, (end) => {
      if (!this.killed) this.afterIteration(ctx, begin, end);
      this.inFlight -= 1;
      done(end);
    });
  }

  private afterIteration(ctx: IterationContext, begin: number, end = now()): void {
    ctx.store.recordIteration(end - begin, ctx.second(end));
    if (ctx === this.main) {
      this.completed += 1;
      if (this.plan.iterations !== undefined && this.completed >= this.plan.iterations)
        this.stop('iterations');
    }
  }
}
