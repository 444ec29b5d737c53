import { decodeHistogram, meanOf } from '../histogram.js';
import { failureKinds, OVERALL } from '../metrics.js';
import type { BenchReport } from './model.js';

const percentiles = [50, 66, 75, 80, 90, 95, 98, 99, 99.9, 99.99, 100];

function cell(v: string | number): string {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(Math.round(v * 1000) / 1000) : '') : v;
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Per-request-name statistics in the columns of Locust's `--csv` stats file (the tool the Jackdaw
 * benchmarking guide uses, §4), so existing spreadsheets and scripts read it unchanged.
 * Times in milliseconds; the overall row is named "Aggregated" as in Locust.
 */
export function renderCsv(report: BenchReport): string {
  const header = [
    'Type',
    'Name',
    'Request Count',
    'Failure Count',
    'Median Response Time',
    'Average Response Time',
    'Min Response Time',
    'Max Response Time',
    'Average Content Size',
    'Requests/s',
    'Failures/s',
    ...percentiles.map((p) => `${p}%`),
  ];
  const secs = report.measuredMs / 1000;
  const rows = report.data.main.requests
    .slice()
    .sort((a, b) => (a.name === OVERALL ? 1 : b.name === OVERALL ? -1 : a.name.localeCompare(b.name)))
    .map((r) => {
      const h = decodeHistogram(r.duration);
      const ms = (p: number) => (h.totalCount ? h.getValueAtPercentile(p) / 1000 : Number.NaN);
      return [
        r.name === OVERALL ? '' : r.method,
        r.name === OVERALL ? 'Aggregated' : r.name,
        r.count,
        r.failed,
        ms(50),
        h.totalCount ? meanOf(h) / 1000 : Number.NaN,
        ms(0),
        ms(100),
        r.count ? r.bytes / r.count : 0,
        secs > 0 ? r.count / secs : 0,
        secs > 0 ? r.failed / secs : 0,
        ...percentiles.map(ms),
      ];
    });
  return `${[header, ...rows].map((r) => r.map(cell).join(',')).join('\n')}\n`;
}

/**
 * The per-second rows (Locust writes them to `*_stats_history.csv`): one row per measured second
 * with its time, busy VUs, requests, failures in total and by cause, iterations, dropped arrivals
 * and latency percentiles (ms), so a CI artefact can be plotted.
 */
export function renderCsvHistory(report: BenchReport): string {
  const header = [
    'Second',
    'Timestamp',
    'VUs',
    'Requests',
    'Failures',
    ...failureKinds.map((k) => `Failures ${k}`),
    'Iterations',
    'Dropped',
    'p50',
    'p90',
    'p95',
    'p99',
    'Max',
  ];
  const rows = report.series.map((p) => [
    p.second,
    report.measuredStart === undefined ? '' : new Date(report.measuredStart + p.second * 1000).toISOString(),
    p.vus,
    p.requests,
    p.failures,
    ...failureKinds.map((k) => p.causes[k] ?? 0),
    p.iterations,
    p.dropped,
    p.p50,
    p.p90,
    p.p95,
    p.p99,
    p.max,
  ]);
  return `${[header, ...rows].map((r) => r.map(cell).join(',')).join('\n')}\n`;
}

/** Where the per-second rows of `--out csv=FILE` go: FILE with `_history` before its extension. */
export function historyFile(file: string): string {
  const m = /^(.*?)(\.[^./\\]*)?$/.exec(file)!;
  return `${m[1]}_history${m[2] ?? ''}`;
}
