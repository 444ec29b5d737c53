import { renderTable } from '../../lib/table.js';
import { formatDuration } from '../duration.js';
import type { LatencySummary } from '../histogram.js';
import { type FailureCounts, failureKinds, OVERALL } from '../metrics.js';
import { fmtMs, fmtPct, fmtRate } from './format.js';
import type { BenchResult, MetricFigure } from './model.js';

/** How the load was described in one line: `closed model, 50 VUs` or `open model, 0→200/s over 3 stages`. */
/** MIN MED P90 P95 P99 P99.9 MAX of a request row, in the summary's and the HTML report's tables. */
export function latencyCells(l: LatencySummary): string[] {
  return [l.min, l.med, l.p90, l.p95, l.p99, l.p999, l.max].map(fmtMs);
}

/** VALUE of a metric row: a trend's count and percentiles (`sep` between them), a counter's rate, a rate's share. */
export function metricValue(m: MetricFigure, sep: string): string {
  if (m.type === 'trend') {
    return [
      `count ${m.count}`,
      `med ${fmtMs(m.med)}`,
      `p95 ${fmtMs(m.p95)}`,
      `p99 ${fmtMs(m.p99)}`,
      `max ${fmtMs(m.max)}`,
    ].join(sep);
  }
  return m.type === 'counter'
    ? `${m.count} (${fmtRate(m.rate)}/s)`
    : `${fmtPct(m.rate)} (${m.hits} of ${m.total})`;
}

export function describeLoad(r: Pick<BenchResult, 'load'>): string {
  const { load } = r;
  const unit = load.model === 'closed' ? ' VUs' : '/s';
  const levels = [load.startLevel, ...load.stages.map((s) => s.target)];
  const constant = levels.every((l) => l === levels[0]);
  const shape = constant
    ? `${levels[0]}${unit}`
    : `${levels.join('→')}${unit} over ${load.stages.length} stage${load.stages.length > 1 ? 's' : ''}`;
  const workers = load.workers > 1 ? `, ${load.workers} worker threads` : '';
  return `${load.model} model, ${shape}${workers}`;
}

const causeLabels: Record<string, string> = {
  status: 'unexpected status',
  check: 'check failed',
  timeout: 'timeout',
  refused: 'connection refused',
  reset: 'connection reset',
  dns: 'DNS',
  tls: 'TLS',
  network: 'other network error',
};

/** Failures by cause, as k6's error codes split them: `3 timeout, 12 connection refused`. */
export function causesText(f: Partial<FailureCounts>): string {
  return failureKinds
    .filter((k) => (f[k] ?? 0) > 0)
    .map((k) => `${f[k]} ${causeLabels[k]}`)
    .join(', ');
}

/** The cold-start line: how much of the run's tail came from its first second. */
export function coldStartText(r: Pick<BenchResult, 'coldStart'>): string | undefined {
  const c = r.coldStart;
  if (!c) return undefined;
  return `first second: ${c.firstSecond.requests} requests, p99 ${fmtMs(c.firstSecond.p99)}; other seconds p99 ${fmtMs(c.restP99)}; ${Math.round(c.tailShare * 100)}% of the requests above the run's p99 (${fmtMs(c.runP99)}) came from the first second`;
}

/** Why the run ended, in words. */
export function stopText(r: Pick<BenchResult, 'stopReason' | 'abortedBy'>): string {
  switch (r.stopReason) {
    case 'duration':
      return 'ran its full duration';
    case 'iterations':
      return 'stopped after its iterations';
    case 'interrupted':
      return 'interrupted (Ctrl-C)';
    case 'threshold':
      return `aborted by threshold ${r.abortedBy}`;
  }
}

/** The threshold table: every threshold, the observed value and the verdict. */
export function thresholdTable(r: Pick<BenchResult, 'thresholds'>): string {
  return renderTable(
    ['THRESHOLD', 'OBSERVED', 'RESULT', 'SOURCE'],
    r.thresholds.map((t) => [
      `${t.metric}: ${t.expression}`,
      t.observedText,
      t.pass ? 'pass' : 'FAIL',
      t.source,
    ]),
  );
}

/** The terminal summary: run facts, per-name table, scenario metrics, self-monitoring, thresholds. */
export function renderSummary(r: BenchResult): string {
  const out: string[] = [];
  const warm = r.load.warmupMs > 0 ? ` after ${formatDuration(r.load.warmupMs)} warm-up` : '';
  const stop = r.stopReason === 'duration' ? '' : `, ${stopText(r)}`;
  const poll =
    r.scenario.pollIntervalMs !== undefined
      ? `; polls every ${formatDuration(r.scenario.pollIntervalMs)}`
      : '';
  out.push(`scenario ${r.scenario.name} (${r.scenario.kind}) → ${r.scenario.baseUrl}${poll}`);
  out.push(`${describeLoad(r)}; measured ${formatDuration(r.measuredMs)}${warm}${stop}`);
  if (r.shard)
    out.push(
      `shard ${r.shard.index}/${r.shard.count}${r.startDelayMs ? `, started ${r.startDelayMs} ms after --start-at` : ''}; merge the shards with: sentinel-ctl bench merge`,
    );
  if (r.shards?.length)
    out.push(
      `merged from shards ${r.shards.map((s) => `${s.index}/${s.count}${s.startDelayMs ? ` (+${s.startDelayMs} ms)` : ''}`).join(', ')}`,
    );
  out.push('');
  out.push(
    renderTable(
      ['NAME', 'REQS', 'RPS', 'FAILED', 'MIN', 'MED', 'P90', 'P95', 'P99', 'P99.9', 'MAX'],
      r.requests.map((q) => [
        q.name === OVERALL ? 'all requests' : q.name,
        q.requests,
        fmtRate(q.rps),
        q.failed ? `${q.failed} (${fmtPct(q.failureRate)})` : '0',
        ...latencyCells(q.latency),
      ]),
      // At 80 columns the extremes give way to the percentiles; -o wide shows them.
      { optional: ['MIN', 'P99.9', 'MAX', 'P90'] },
    ),
  );
  const failures = r.requests.find((q) => q.name === OVERALL)?.failures;
  const causes = failures ? causesText(failures) : '';
  if (causes) out.push(`failures by cause: ${causes}`);
  const other = r.metrics.filter((m) => m.metric !== 'iteration_duration' || m.name === OVERALL);
  if (other.length > 0) {
    out.push('');
    out.push(
      renderTable(
        ['METRIC', 'NAME', 'VALUE'],
        other.map((m) => [m.metric, m.name === OVERALL ? 'all' : m.name, metricValue(m, '  ')]),
      ),
    );
  }
  if (r.warmup) {
    out.push('');
    out.push(
      `warm-up (not in the figures above): ${r.warmup.requests} requests, ${r.warmup.failed} failed, p95 ${fmtMs(r.warmup.latency.p95)}`,
    );
  }
  const cold = coldStartText(r);
  if (cold) out.push(cold);
  const s = r.self;
  out.push(
    `generator (measured period): event loop busy ${Math.round(s.eventLoopUtilization * 100)}%, lag p99 ${fmtMs(s.eventLoopLagMs.p99)}, scheduling delay p99 ${fmtMs(s.schedulingDelayMs.p99)}${s.primed ? `; ${s.primed} priming requests before the clock` : ''}`,
  );
  if (r.thresholds.length > 0) {
    out.push('');
    out.push(thresholdTable(r));
    const failed = r.thresholds.filter((t) => !t.pass).length;
    out.push(
      failed === 0
        ? `all ${r.thresholds.length} thresholds passed`
        : `${failed} of ${r.thresholds.length} thresholds FAILED`,
    );
  }
  return out.join('\n');
}
