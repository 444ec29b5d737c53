/**
 * What the windowed rules read: the deployment guide's alerts hold "for 5m" / "for 3m" or count
 * "in 5m" (deployment guide "Monitoring Stack > Alerting"), which one pair of samples a second apart
 * cannot show. A window comes from one of three places, and every windowed finding names it:
 * - `prometheus`: PromQL over the real series (`increase(...[5m])`, `min_over_time(...[5m])`);
 * - `sample-file`: the rolling sample file diagnose keeps in the state directory, so consecutive
 *   `--once` runs (cron) and the interactive view share one history;
 * - `this run`: only the two samples of this run (no history yet).
 * The broker's own depth samples (`lengths_age`) also serve the backlog rule: `broker`.
 */
import { secs } from '../rules/format.js';

export type WindowSource = 'prometheus' | 'sample-file' | 'this run' | 'broker';

export interface Held {
  /** How long the condition has held without a break, up to now (0 when it does not hold now). */
  heldSeconds: number;
  /** How much history the source had when it answered. */
  historySeconds: number;
  source: WindowSource;
}

export interface CounterWindow {
  seconds: number;
  source: WindowSource;
}

export interface Windows {
  /** Where the windows came from, and how far back they reach. */
  source: WindowSource;
  historySeconds: number;
  /** Why a better source was not used (Prometheus unreachable, no state directory ...). */
  note?: string;
  /** Task queue depth above the backlog threshold (1000). */
  backlog: Held | null;
  /** sentinel_workers_active < 1. */
  workerDown: Held | null;
  /** The worker's metrics endpoint not answering. */
  workerUnreachable: Held | null;
  /** Executions by terminal status over the last 5 minutes. */
  executions: (CounterWindow & { byStatus: Record<string, number> }) | null;
  /** sentinel_sandbox_failures_total increase over the last 5 minutes. */
  sandboxFailures: (CounterWindow & { count: number }) | null;
  /** Execution duration buckets' increase over the last 5 minutes (le in ms, cumulative). */
  duration: (CounterWindow & { buckets: Array<{ leMs: number; count: number }> }) | null;
  /** This machine's CPU use over the last minute, and whether the CPU rule was already firing. */
  cpu: (CounterWindow & { usage: number; wasHigh: boolean }) | null;
}

export const NO_WINDOWS: Windows = {
  source: 'this run',
  historySeconds: 0,
  backlog: null,
  workerDown: null,
  workerUnreachable: null,
  executions: null,
  sandboxFailures: null,
  duration: null,
  cpu: null,
};

/** "sample file, 4 m 10 s of history" — what a windowed finding says about its window. */
export function describeWindow(source: WindowSource, historySeconds: number): string {
  return `${source}, ${secs(historySeconds)} of history`;
}
