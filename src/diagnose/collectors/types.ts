import type { ComponentName } from '../types.js';

/**
 * One component's collector: `sample()` does the I/O (bounded by the timeout) and returns raw
 * readings; `derive()` turns the previous and the current reading into facts, rates included
 * (rates come from two samples, never from lifetime counters). Connections are kept between
 * samples, so the UI's refreshes cost one round trip each.
 */
export interface Collector<S, F> {
  readonly component: ComponentName;
  /** Where it collects from, credentials masked. */
  readonly target: string;
  sample(timeoutMs: number): Promise<S>;
  derive(prev: S | undefined, cur: S): { facts: F; notes: string[] };
  close(): Promise<void>;
}

/** Seconds between two readings taken at `a` and `b` (ms), 0 when there is no earlier reading. */
export function windowOf(prev: { at: number } | undefined, cur: { at: number }): number {
  return prev ? Math.max(0, (cur.at - prev.at) / 1000) : 0;
}

/** The increase of a counter between two readings; a smaller value means a reset, counted from 0. */
export function increase(prev: number | undefined, cur: number): number {
  if (prev === undefined) return cur;
  return cur >= prev ? cur - prev : cur;
}
