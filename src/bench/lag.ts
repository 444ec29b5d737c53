import { performance } from 'node:perf_hooks';
import { createHistogram, type Histogram, recordMs } from './histogram.js';

/** Wall-clock milliseconds with sub-ms resolution, comparable between worker threads. */
const origin = performance.timeOrigin;
export const now = (): number => origin + performance.now();

/**
 * Event-loop lag as `perf_hooks.monitorEventLoopDelay` measures it (a timer every `intervalMs`, the
 * delay is how much later than asked it fired), minus the interval itself, recorded sample by
 * sample into an HDR histogram: an idle loop reads about 0 ms (not the interval), percentiles are
 * exact rather than re-summarised, and histograms of several threads or shards merge. Runs only
 * while started, so the engine measures the measured period and not the warm-up.
 */
export class LagSampler {
  readonly histogram: Histogram = createHistogram();
  private timer?: NodeJS.Timeout;

  constructor(readonly intervalMs = 10) {}

  start(): void {
    if (this.timer) return;
    const tick = () => {
      const asked = now();
      this.timer = setTimeout(() => {
        recordMs(this.histogram, Math.max(0, now() - asked - this.intervalMs));
        tick();
      }, this.intervalMs);
      this.timer.unref();
    };
    tick();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
