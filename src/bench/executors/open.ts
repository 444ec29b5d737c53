import type { Engine, Executor, VirtualUser } from '../engine.js';
import { recordMs } from '../histogram.js';
import { now } from '../lag.js';
import { OVERALL } from '../metrics.js';
import { ArrivalSchedule } from '../stages.js';

/** Arrivals processed this much later than due mean the generator, not the server, was behind. */
export const GENERATOR_LATE_MS = 50;

/**
 * The open model (k6's constant-arrival-rate / ramping-arrival-rate): arrivals are due on a
 * precomputed schedule; each runs on a free VU and its latency counts from the due time, so a
 * stalled server shows up in full (no coordinated omission). An arrival with no free VU is counted
 * as dropped, never silently skipped; one that the generator itself processed late (its event loop
 * was busy) is marked so in the series, so drops and lateness are attributed to the generator.
 */
export class OpenExecutor implements Executor {
  private readonly free: VirtualUser[] = [];

  constructor(private readonly engine: Engine) {}

  preparedVUs(): number {
    return this.engine.plan.preAllocatedVUs;
  }

  busyVUs(): number {
    return this.engine.inFlight;
  }

  idle(): boolean {
    return this.engine.inFlight === 0;
  }

  start(): void {
    const e = this.engine;
    const plan = e.plan;
    this.free.push(...e.preparedIdle());
    const schedules: Array<{ offset: number; schedule: ArrivalSchedule }> = [];
    if (plan.warmupMs > 0) {
      schedules.push({
        offset: e.startAt,
        schedule: new ArrivalSchedule(
          [{ durationMs: plan.warmupMs, target: plan.startLevel }],
          plan.startLevel,
          plan.phase,
        ),
      });
    }
    schedules.push({
      offset: e.mainStart,
      schedule: new ArrivalSchedule(plan.stages, plan.startLevel, plan.phase),
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
      if (e.stopping) return;
      const t = now();
      while (due !== undefined && due <= t) {
        if (!e.iterationsLeft(due)) {
          e.stop('iterations');
          return;
        }
        const ctx = e.ctxFor(due);
        const sec = ctx.second(due);
        if (sec !== undefined) {
          recordMs(e.schedulingDelay, t - due);
          const b = ctx.store.bucket(sec);
          if (t - due > b.lateMax) b.lateMax = t - due;
        }
        const vu = this.free.pop() ?? (e.vus.length < plan.maxVUs ? e.newVU() : undefined);
        if (vu) this.launch(vu, due);
        else {
          ctx.store.addCount('dropped_iterations', OVERALL);
          if (t - due > GENERATOR_LATE_MS) ctx.store.addCount('dropped_iterations_late', OVERALL);
          if (sec !== undefined) ctx.store.bucket(sec).dropped += 1;
        }
        due = nextDue();
      }
      if (due === undefined) {
        e.stop('duration');
        return;
      }
      e.timer = setTimeout(tick, Math.max(0, due - now()));
    };
    tick();
  }

  /**
   * Starts an iteration due at `due` (its latency counts from there). The clock is read afresh:
   * a tick that catches up after a stall launches many, and each request's timeout counts from
   * its own send.
   */
  private launch(vu: VirtualUser, due: number): void {
    const e = this.engine;
    e.iterateCb(vu, e.ctxFor(due), due, now(), () => {
      this.free.push(vu);
      e.checkDone();
    });
  }
}
