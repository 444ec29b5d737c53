import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createHistogram, type Histogram, recordMs } from './histogram.js';
import { MetricStore, OVERALL } from './metrics.js';
import { ArrivalSchedule, levelAt, type Stage, stagesDuration } from './stages.js';

/** Wall-clock milliseconds with sub-ms resolution, comparable between worker threads. */
export const now = (): number => performance.timeOrigin + performance.now();

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
  /** Think time after an iteration (closed model), in ms; 0 for none. */
  thinkMs(): number;
  close(force: boolean): Promise<void>;
}

export type StopReason = 'duration' | 'iterations' | 'interrupted' | 'threshold';

/** The generator watching itself (docs/design.md "Bench": the generator must not be the bottleneck). */
export interface SelfStats {
  /** Share of time the event loop was busy (0–1); near 1 the generator limits the load itself. */
  eventLoopUtilization: number;
  eventLoopLag: Histogram;
  /** How late arrivals (open model) or think-time wake-ups (closed model) ran. */
  schedulingDelay: Histogram;
}

export interface EngineStatus {
  phase: 'warmup' | 'main' | 'stopping' | 'done';
  vus: number;
  vusMax: number;
  /** VUs (closed) or rate (open) the schedule asks for now. */
  target: number;
  inFlight: number;
}

/** A sink for results that arrive after a hard stop: they are not part of the run. */
const discard = new MetricStore();

/**
 * One thread's load engine. Closed model: a controller adjusts the number of looping VUs to the
 * stage level every 100 ms. Open model: arrivals are due on a precomputed schedule; each runs on a
 * free VU and its latency counts from the due time, so a stalled server shows up in full (no
 * coordinated omission); an arrival with no free VU is counted as dropped, never silently skipped.
 */
export class Engine {
  private startAt = 0;
  private mainStart = 0;
  private mainEnd = 0;
  private lastSecond = 0;
  /** When stop() was first called: the end of the measured period. */
  stoppedAt?: number;
  private readonly warm: IterationContext;
  private readonly main: IterationContext;
  private readonly vus: VirtualUser[] = [];
  private readonly free: VirtualUser[] = [];
  private readonly sleepers = new Set<{
    resolve: (ok: boolean) => void;
    untilKill: boolean;
    timer: NodeJS.Timeout;
  }>();
  private active = 0;
  private inFlight = 0;
  private started = 0;
  private completed = 0;
  private stopping = false;
  private killed = false;
  private timer?: NodeJS.Timeout;
  private graceTimer?: NodeJS.Timeout;
  private finish!: (reason: StopReason) => void;
  private beforeKill?: { warmup: MetricStore; main: MetricStore };
  private reason: StopReason = 'duration';
  private readonly done: Promise<StopReason>;
  private readonly lag = monitorEventLoopDelay({ resolution: 10 });
  private elu = performance.eventLoopUtilization();
  readonly schedulingDelay = createHistogram();

  constructor(
    private readonly plan: EnginePlan,
    private readonly runner: ScenarioRunner,
    stores: { warmup: MetricStore; main: MetricStore },
  ) {
    const ctx = (store: MetricStore, measured: boolean): IterationContext => ({
      store,
      // Completions after the end (in-flight requests finishing) count in the last second.
      second: measured
        ? (t) => Math.min(Math.max(0, Math.floor((t - this.mainStart) / 1000)), this.lastSecond)
        : () => undefined,
      sleep: (ms, untilKill) => this.sleep(ms, untilKill ?? false),
    });
    this.warm = ctx(stores.warmup, false);
    this.main = ctx(stores.main, true);
    this.done = new Promise((resolve) => {
      this.finish = resolve;
    });
  }

  /** Open model: creates and sets up the pre-allocated VUs before the clock starts. */
  async prepare(): Promise<void> {
    if (this.plan.model !== 'open') return;
    const ctx = this.plan.warmupMs > 0 ? this.warm : this.main;
    const vus = Array.from({ length: this.plan.preAllocatedVUs }, () => this.newVU());
    await Promise.all(
      vus.map(async (vu) => {
        await this.runner.setup(vu, ctx);
        vu.ready = true;
      }),
    );
    this.free.push(...vus);
  }

  /** Runs until the schedule ends, the iterations are done, or stop()/kill(); resolves with why. */
  async run(startAt: number): Promise<StopReason> {
    this.startAt = startAt;
    this.mainStart = startAt + this.plan.warmupMs;
    this.mainEnd = this.mainStart + stagesDuration(this.plan.stages);
    this.lastSecond = Math.max(0, Math.ceil(stagesDuration(this.plan.stages) / 1000) - 1);
    this.lag.enable();
    this.elu = performance.eventLoopUtilization();
    const wait = this.startAt - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (this.plan.model === 'closed') this.controlClosed();
    else this.startOpen();
    const reason = await this.done;
    this.lag.disable();
    return reason;
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
      vus: this.plan.model === 'closed' ? this.active : this.inFlight,
      vusMax: this.vus.length,
      target: Math.round(target * 100) / 100,
      inFlight: this.inFlight,
    };
  }

  selfStats(): SelfStats {
    const u = performance.eventLoopUtilization(this.elu);
    const lag = createHistogram();
    // monitorEventLoopDelay reports nanoseconds; keep the percentiles that matter.
    for (const p of [50, 90, 99, 100]) {
      const v = p === 100 ? this.lag.max : this.lag.percentile(p);
      if (Number.isFinite(v) && v > 0) recordMs(lag, v / 1e6);
    }
    return { eventLoopUtilization: u.utilization, eventLoopLag: lag, schedulingDelay: this.schedulingDelay };
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

  private checkDone(): void {
    if (this.stopping && this.inFlight === 0 && this.active === 0 && !this.killed) {
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

  private sleep(ms: number, untilKill: boolean): Promise<boolean> {
    if (this.killed || (this.stopping && !untilKill)) return Promise.resolve(false);
    return new Promise((resolve) => {
      const due = now() + ms;
      const entry = {
        resolve,
        untilKill,
        timer: setTimeout(() => {
          recordMs(this.schedulingDelay, Math.max(0, now() - due));
          this.wake(entry, true);
        }, ms),
      };
      this.sleepers.add(entry);
    });
  }

  private newVU(): VirtualUser {
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

  private ctxFor(t: number): IterationContext {
    return t < this.mainStart ? this.warm : this.main;
  }

  private iterationsLeft(t: number): boolean {
    if (this.plan.iterations === undefined || t < this.mainStart) return true;
    return this.started < this.plan.iterations;
  }

  private afterIteration(ctx: IterationContext, begin: number): void {
    const end = now();
    ctx.store.addTrend('iteration_duration', OVERALL, end - begin);
    ctx.store.addCount('iterations', OVERALL);
    const sec = ctx.second(end);
    if (sec !== undefined) ctx.store.bucket(sec).iterations += 1;
    if (ctx === this.main) {
      this.completed += 1;
      if (this.plan.iterations !== undefined && this.completed >= this.plan.iterations)
        this.stop('iterations');
    }
  }

  // ---- closed model ----

  private controlClosed(): void {
    const t = now();
    if (this.stopping) return;
    if (t >= this.mainEnd) {
      this.stop('duration');
      return;
    }
    const level =
      t < this.mainStart
        ? this.plan.startLevel
        : levelAt(this.plan.stages, t - this.mainStart, this.plan.startLevel);
    const target = Math.round(level);
    let live = 0;
    for (const vu of this.vus) if (vu.running && !vu.retired) live += 1;
    // Ramping up: keep VUs that were asked to retire but are still looping, then restart idle
    // ones (they keep their setup, e.g. a login token), and only then create new ones.
    for (const vu of this.vus) {
      if (live >= target) break;
      if (vu.running && vu.retired) {
        vu.retired = false;
        live += 1;
      }
    }
    for (const vu of this.vus) {
      if (live >= target) break;
      if (!vu.running) {
        vu.retired = false;
        live += 1;
        void this.loopVU(vu);
      }
    }
    while (live < target) {
      live += 1;
      void this.loopVU(this.newVU());
    }
    // Ramping down: the newest VUs finish their current iteration and stop (k6's graceful ramp-down).
    for (let i = this.vus.length - 1; i >= 0 && live > target; i--) {
      const vu = this.vus[i]!;
      if (vu.running && !vu.retired) {
        vu.retired = true;
        live -= 1;
      }
    }
    this.timer = setTimeout(() => this.controlClosed(), Math.min(100, Math.max(1, this.mainEnd - now())));
  }

  private async loopVU(vu: VirtualUser): Promise<void> {
    vu.running = true;
    this.active += 1;
    try {
      while (!vu.retired && !this.stopping) {
        const begin = now();
        if (!this.iterationsLeft(begin)) break;
        const ctx = this.ctxFor(begin);
        if (ctx === this.main) this.started += 1;
        this.inFlight += 1;
        try {
          if (!vu.ready) {
            await this.runner.setup(vu, ctx);
            vu.ready = true;
          }
          vu.iter += 1;
          await this.runner.iterate(vu, ctx, undefined);
        } finally {
          this.inFlight -= 1;
        }
        if (this.killed) break;
        this.afterIteration(ctx, begin);
        const think = this.runner.thinkMs();
        if (think > 0 && !(await this.sleep(think, false))) break;
      }
    } finally {
      vu.running = false;
      this.active -= 1;
      this.checkDone();
    }
  }

  // ---- open model ----

  private startOpen(): void {
    const schedules: Array<{ offset: number; schedule: ArrivalSchedule }> = [];
    if (this.plan.warmupMs > 0) {
      schedules.push({
        offset: this.startAt,
        schedule: new ArrivalSchedule(
          [{ durationMs: this.plan.warmupMs, target: this.plan.startLevel }],
          this.plan.startLevel,
          this.plan.phase,
        ),
      });
    }
    schedules.push({
      offset: this.mainStart,
      schedule: new ArrivalSchedule(this.plan.stages, this.plan.startLevel, this.plan.phase),
    });
    let current = schedules.shift()!;
    const nextDue = (): number | undefined => {
      for (;;) {
        const d = current.schedule.nextDue();
        if (d !== undefined) return current.offset + d;
        const following = schedules.shift();
        if (!following) return undefined;
        current = following;
      }
    };
    let due = nextDue();
    const tick = () => {
      if (this.stopping) return;
      const t = now();
      while (due !== undefined && due <= t) {
        if (!this.iterationsLeft(due)) {
          this.stop('iterations');
          return;
        }
        recordMs(this.schedulingDelay, t - due);
        const vu = this.free.pop() ?? (this.vus.length < this.plan.maxVUs ? this.newVU() : undefined);
        const ctx = this.ctxFor(due);
        if (vu) void this.launch(vu, due, ctx);
        else {
          ctx.store.addCount('dropped_iterations', OVERALL);
          const sec = ctx.second(due);
          if (sec !== undefined) ctx.store.bucket(sec).dropped += 1;
        }
        due = nextDue();
      }
      if (due === undefined) {
        this.stop('duration');
        return;
      }
      this.timer = setTimeout(tick, Math.max(0, due - now()));
    };
    tick();
  }

  private async launch(vu: VirtualUser, due: number, ctx: IterationContext): Promise<void> {
    this.inFlight += 1;
    if (ctx === this.main) this.started += 1;
    try {
      if (!vu.ready) {
        await this.runner.setup(vu, ctx);
        vu.ready = true;
      }
      vu.iter += 1;
      await this.runner.iterate(vu, ctx, due);
      if (!this.killed) this.afterIteration(ctx, due);
    } finally {
      this.inFlight -= 1;
      this.free.push(vu);
      this.checkDone();
    }
  }
}
