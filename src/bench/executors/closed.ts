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
        void this.loop(vu);
      }
    }
    while (live < target) {
      live += 1;
      void this.loop(e.newVU());
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

  private async loop(vu: VirtualUser): Promise<void> {
    const e = this.engine;
    vu.running = true;
    this.active += 1;
    try {
      while (!vu.retired && !e.stopping) {
        const begin = now();
        if (!e.iterationsLeft(begin)) break;
        await e.iterate(vu, e.ctxFor(begin), undefined);
        if (e.killed) break;
        const think = e.runner.thinkMs();
        if (think > 0 && !(await e.sleep(think, false))) break;
      }
    } finally {
      vu.running = false;
      this.active -= 1;
      e.checkDone();
    }
  }
}
