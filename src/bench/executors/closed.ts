import type { Engine, Executor, VirtualUser } from '../engine.js';
import { now } from '../lag.js';
import { levelAt } from '../stages.js';

/**
 * The closed model (k6's constant-vus / ramping-vus): each VU loops — iteration, think time,
 * iteration — and a controller moves the number of looping VUs to the stage level every 100 ms.
 * The VUs of the start level are created and set up before the clock starts.
 */
export class ClosedExecutor implements Executor {
  private active = 0;

  constructor(private readonly engine: Engine) {}

  preparedVUs(): number {
    return Math.round(this.engine.plan.startLevel);
  }

  busyVUs(): number {
    return this.active;
  }

  idle(): boolean {
    return this.engine.inFlight === 0 && this.active === 0;
  }

  start(): void {
    this.control();
  }

  private control(): void {
    const e = this.engine;
    const t = now();
    if (e.stopping) return;
    if (t >= e.mainEnd) {
      e.stop('duration');
      return;
    }
    const level =
      t < e.mainStart ? e.plan.startLevel : levelAt(e.plan.stages, t - e.mainStart, e.plan.startLevel);
    const target = Math.round(level);
    let live = 0;
    for (const vu of e.vus) if (vu.running && !vu.retired) live += 1;
    // Ramping up: keep VUs that were asked to retire but are still looping, then restart idle
    // ones (they keep their setup, e.g. a login token), and only then create new ones.
    for (const vu of e.vus) {
      if (live >= target) break;
      if (vu.running && vu.retired) {
        vu.retired = false;
        live += 1;
      }
    }
    for (const vu of e.vus) {
      if (live >= target) break;
      if (!vu.running) {
        vu.retired = false;
        live += 1;
        this.loop(vu);
      }
    }
    while (live < target) {
      live += 1;
      this.loop(e.newVU());
    }
    // Ramping down: the newest VUs finish their current iteration and stop (k6's graceful ramp-down).
    for (let i = e.vus.length - 1; i >= 0 && live > target; i--) {
      const vu = e.vus[i]!;
      if (vu.running && !vu.retired) {
        vu.retired = true;
        live -= 1;
      }
    }
    e.timer = setTimeout(() => this.control(), Math.min(100, Math.max(1, e.mainEnd - now())));
  }

  private loop(vu: VirtualUser): void {
    vu.running = true;
    this.active += 1;
    this.next(vu);
  }

  /**
   * One turn of a VU's loop: an iteration, its think time, the next turn — no promise on the way.
   * `begin`: the clock now (without think time, the previous iteration's end).
   */
  private next(vu: VirtualUser, begin = now()): void {
    const e = this.engine;
    if (vu.retired || e.stopping || !e.iterationsLeft(begin)) {
      this.end(vu);
      return;
    }
    e.iterateCb(vu, e.ctxFor(begin), undefined, begin, (end) => {
      const think = e.killed ? 0 : e.runner.thinkMs();
      if (e.killed) this.end(vu);
      else if (think > 0) void e.sleep(think, false).then((ok) => (ok ? this.next(vu) : this.end(vu)));
      else this.next(vu, end);
    });
  }

  private end(vu: VirtualUser): void {
    vu.running = false;
    this.active -= 1;
    this.engine.checkDone();
  }
}
