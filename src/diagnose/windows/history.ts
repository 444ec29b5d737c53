/**
 * The rolling sample file: a few numbers per diagnose evaluation, kept for the last minutes in the
 * state directory (one file per set of targets), so consecutive `--once` runs from cron and the
 * interactive view see the same windows as Prometheus would give (docs/diagnose.md "Windows").
 * Written atomically (temporary file + rename); an unreadable or foreign file is started afresh.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bucketIncrease } from '../../clients/prometheus.js';
import type { HistogramBucket } from '../../tuners/rabbitmq.js';
import { increase } from '../collectors/types.js';
import { BACKLOG_MESSAGES } from '../rules/rabbitmq.js';
import type { Held, Windows } from './types.js';

export interface HistorySample {
  /** ms since epoch. */
  at: number;
  /** Task queue depth (ready + unacked); null when the broker did not answer. */
  queue: number | null;
  /** sentinel_workers_active; null when the worker's metrics did not answer. */
  workersActive: number | null;
  executions: Record<string, number> | null;
  sandbox: number | null;
  /** Cumulative duration buckets: [le in ms, or null for +Inf; count]. */
  buckets: Array<[number | null, number]> | null;
  /** Cumulative CPU seconds used and available on this machine. */
  cpu: { used: number; total: number } | null;
  /** Whether the host CPU rule fired at this evaluation (hysteresis). */
  cpuHigh?: boolean;
}

interface HistoryDocument {
  version: 1;
  targets: string;
  samples: HistorySample[];
}

/** How long samples are kept: the longest window (5 m) plus room for a cron interval. */
export const RETENTION_MS = 7 * 60_000;
const MAX_SAMPLES = 400;
/** Two samples further apart than this do not prove a condition held in between. */
export const MAX_GAP_MS = 150_000;
export const FIVE_MINUTES_MS = 300_000;
/** A window may reach this much further back than 5 m (the sample nearest to "5 m ago"). */
const SLACK_MS = 45_000;
export const CPU_WINDOW_MS = 60_000;

export function historyFile(stateDir: string, targetsKey: string): string {
  const hash = createHash('sha256').update(targetsKey).digest('hex').slice(0, 12);
  return path.join(stateDir, 'diagnose', `samples-${hash}.json`);
}

export class HistoryFile {
  private samples: HistorySample[] = [];
  readonly problem: string | undefined;

  constructor(
    readonly file: string | undefined,
    private readonly targetsKey: string,
  ) {
    if (!file) return;
    try {
      const doc = JSON.parse(readFileSync(file, 'utf8')) as HistoryDocument;
      if (doc.version === 1 && doc.targets === targetsKey && Array.isArray(doc.samples)) {
        this.samples = doc.samples.filter((s) => typeof s?.at === 'number').sort((a, b) => a.at - b.at);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.problem = `the sample file ${file} was unreadable and is started afresh`;
      }
    }
  }

  /** The samples kept so far (oldest first). */
  get all(): readonly HistorySample[] {
    return this.samples;
  }

  /** Adds a sample, drops the expired ones, and writes the file (a write failure only loses history). */
  append(sample: HistorySample): string | undefined {
    this.samples.push(sample);
    this.samples = this.samples.filter((s) => s.at > sample.at - RETENTION_MS && s.at <= sample.at);
    if (this.samples.length > MAX_SAMPLES) this.samples = this.samples.slice(-MAX_SAMPLES);
    if (!this.file) return undefined;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      const doc: HistoryDocument = { version: 1, targets: this.targetsKey, samples: this.samples };
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(doc));
      renameSync(tmp, this.file);
      return undefined;
    } catch (error) {
      return `the sample file ${this.file} could not be written (${(error as Error).message})`;
    }
  }
}

/** The trailing run of samples (newest backwards) for which `holds` is true, without gaps. */
export function heldRun(
  samples: readonly HistorySample[],
  now: number,
  holds: (s: HistorySample) => boolean | undefined,
): number {
  let start: number | undefined;
  let next = now;
  for (let i = samples.length - 1; i >= 0; i--) {
    const s = samples[i]!;
    if (next - s.at > MAX_GAP_MS || !holds(s)) break;
    start = s.at;
    next = s.at;
  }
  return start === undefined ? 0 : Math.max(0, (now - start) / 1000);
}

/** The samples of the last 5 minutes: from the one nearest to "5 m ago" (within the slack) to the newest. */
export function lastFiveMinutes(samples: readonly HistorySample[], now: number): HistorySample[] {
  const target = now - FIVE_MINUTES_MS;
  let best = -1;
  for (let i = 0; i < samples.length; i++) {
    const at = samples[i]!.at;
    if (at < target - SLACK_MS) continue;
    if (best < 0 || Math.abs(at - target) < Math.abs(samples[best]!.at - target)) best = i;
  }
  return best < 0 ? [] : samples.slice(best);
}

/** Sum of reset-aware increases between consecutive readings that both exist. */
function counterIncrease(values: Array<number | null>): number {
  let total = 0;
  let prev: number | undefined;
  for (const v of values) {
    if (v === null) {
      prev = undefined;
      continue;
    }
    if (prev !== undefined) total += increase(prev, v);
    prev = v;
  }
  return total;
}

function toBuckets(b: Array<[number | null, number]>): HistogramBucket[] {
  return b.map(([le, count]) => ({ leMs: le === null ? Number.POSITIVE_INFINITY : le, count }));
}

export function fromBuckets(b: HistogramBucket[]): Array<[number | null, number]> {
  return b.map((x) => [Number.isFinite(x.leMs) ? x.leMs : null, x.count]);
}

/** Windows computed from the sample file (the newest sample is the current evaluation). */
export function windowsFromHistory(samples: readonly HistorySample[], now: number): Windows {
  const source = samples.length > 1 ? ('sample-file' as const) : ('this run' as const);
  const historySeconds = samples.length ? Math.max(0, (now - samples[0]!.at) / 1000) : 0;
  const cur = samples[samples.length - 1];
  const held = (holds: (s: HistorySample) => boolean | undefined, applies: boolean): Held | null =>
    applies ? { heldSeconds: heldRun(samples, now, holds), historySeconds, source } : null;
  const five = lastFiveMinutes(samples, now);
  const fiveSeconds = five.length > 1 ? (now - five[0]!.at) / 1000 : 0;
  let executions: Windows['executions'] = null;
  let sandboxFailures: Windows['sandboxFailures'] = null;
  let duration: Windows['duration'] = null;
  if (five.length > 1) {
    const statuses = new Set(five.flatMap((s) => Object.keys(s.executions ?? {})));
    if (statuses.size > 0 || five.some((s) => s.executions)) {
      const byStatus: Record<string, number> = {};
      for (const st of statuses) {
        byStatus[st] = counterIncrease(five.map((s) => (s.executions ? (s.executions[st] ?? 0) : null)));
      }
      executions = { byStatus, seconds: fiveSeconds, source };
    }
    if (five.some((s) => s.sandbox !== null)) {
      sandboxFailures = { count: counterIncrease(five.map((s) => s.sandbox)), seconds: fiveSeconds, source };
    }
    let acc: HistogramBucket[] | undefined;
    let prev: HistogramBucket[] | undefined;
    for (const s of five) {
      if (!s.buckets) {
        prev = undefined;
        continue;
      }
      const b = toBuckets(s.buckets);
      if (prev && b.length === prev.length) {
        const inc = bucketIncrease(prev, b);
        acc = acc ? acc.map((x, i) => ({ leMs: x.leMs, count: x.count + (inc[i]?.count ?? 0) })) : inc;
      }
      prev = b;
    }
    if (acc) duration = { buckets: acc, seconds: fiveSeconds, source };
  }
  let cpu: Windows['cpu'] = null;
  if (cur?.cpu) {
    const base = samples.find((s) => s.cpu && s.at >= now - CPU_WINDOW_MS - SLACK_MS && s.at < cur.at);
    if (base?.cpu) {
      const used = increase(base.cpu.used, cur.cpu.used);
      const total = increase(base.cpu.total, cur.cpu.total);
      const prevHigh = samples.length > 1 ? samples[samples.length - 2]!.cpuHigh === true : false;
      if (total > 0) {
        cpu = {
          usage: Math.min(1, Math.round((used / total) * 1000) / 1000),
          seconds: (cur.at - base.at) / 1000,
          source,
          wasHigh: prevHigh,
        };
      }
    }
  }
  return {
    source,
    historySeconds,
    backlog: held((s) => s.queue !== null && s.queue > BACKLOG_MESSAGES, cur?.queue != null),
    workerDown: held((s) => s.workersActive !== null && s.workersActive < 1, cur?.workersActive != null),
    workerUnreachable: held((s) => s.workersActive === null, cur !== undefined && cur.workersActive === null),
    executions,
    sandboxFailures,
    duration,
    cpu,
  };
}
