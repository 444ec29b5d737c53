import { formatDuration } from '../duration.js';
import { OVERALL } from '../metrics.js';
import { levelAt } from '../stages.js';
import { timeChart } from './charts.js';
import { escapeXml as esc, fmtMs, fmtPct, fmtRate } from './format.js';
import type { BenchResult } from './model.js';
import { causesText, coldStartText, describeLoad, latencyCells, metricValue, stopText } from './summary.js';

const colors = {
  p50: '#2ca02c',
  p90: '#1f77b4',
  p95: '#ff7f0e',
  p99: '#d62728',
  rps: '#1f77b4',
  target: '#7f7f7f',
  failures: '#d62728',
  dropped: '#9467bd',
};

/**
 * One self-contained HTML page: inline CSS and inline SVG charts, no script and no network, so it
 * opens from a CI artifact store as it is. Latency percentiles, throughput and errors over time,
 * the threshold table, per-name statistics, scenario metrics and the generator's self-check.
 */
export function renderHtml(r: BenchResult): string {
  const xs = r.series.map((p) => p.second);
  const latency = timeChart({
    id: 'chart-latency',
    title: 'Latency percentiles per second (ms)',
    kind: 'line',
    xs,
    yFormat: (v) => fmtMs(v).replace('ms', ''),
    series: (['p50', 'p90', 'p95', 'p99'] as const).map((k) => ({
      name: k,
      color: colors[k],
      values: r.series.map((p) => (p[k] === null || Number.isNaN(p[k]) ? null : p[k])),
    })),
  });
  const throughputSeries = [
    {
      name: 'requests/s',
      color: colors.rps,
      values: r.series.map((p) => p.requests) as Array<number | null>,
    },
  ];
  if (r.load.model === 'open') {
    throughputSeries.push({
      name: 'target arrivals/s',
      color: colors.target,
      values: xs.map(
        (s) => Math.round(levelAt(r.load.stages, s * 1000 + 500, r.load.startLevel) * 100) / 100,
      ),
      dashed: true,
    } as (typeof throughputSeries)[number]);
  }
  const throughput = timeChart({
    id: 'chart-throughput',
    title: 'Throughput (requests completed per second)',
    kind: 'line',
    xs,
    yFormat: (v) => fmtRate(v),
    series: throughputSeries,
  });
  const errors = timeChart({
    id: 'chart-errors',
    title: 'Errors per second (failed requests, dropped arrivals)',
    kind: 'bars',
    xs,
    yFormat: (v) => String(Math.round(v * 10) / 10),
    series: [
      { name: 'failed', color: colors.failures, values: r.series.map((p) => p.failures) },
      { name: 'dropped', color: colors.dropped, values: r.series.map((p) => p.dropped) },
    ],
  });
  const verdict =
    r.thresholds.length === 0
      ? '<span class="badge none">no thresholds</span>'
      : r.passed
        ? '<span class="badge pass">PASSED</span>'
        : '<span class="badge fail">FAILED</span>';
  const rows = (cells: Array<Array<string | number>>, cls?: (i: number) => string) =>
    cells
      .map(
        (c, i) =>
          `<tr${cls ? ` class="${cls(i)}"` : ''}>${c.map((v) => `<td>${esc(String(v))}</td>`).join('')}</tr>`,
      )
      .join('\n');
  const thresholdRows = rows(
    r.thresholds.map((t) => [
      `${t.metric}: ${t.expression}`,
      t.observedText,
      t.pass ? 'pass' : 'FAIL',
      t.source,
    ]),
    (i) => (r.thresholds[i]!.pass ? 'pass' : 'fail'),
  );
  const requestRows = rows(
    r.requests.map((q) => [
      q.name === OVERALL ? 'all requests' : q.name,
      q.method,
      q.requests,
      fmtRate(q.rps),
      `${q.failed} (${fmtPct(q.failureRate)})`,
      ...latencyCells(q.latency),
    ]),
    (i) => (r.requests[i]!.name === OVERALL ? 'total' : ''),
  );
  const metricRows = rows(
    r.metrics.map((m) => [m.metric, m.name === OVERALL ? 'all' : m.name, metricValue(m, ', ')]),
  );
  const s = r.self;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bench ${esc(r.scenario.name)} — ${esc(r.startedAt)}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 24px auto; max-width: 940px; padding: 0 12px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.meta { color: #555; margin: 0 0 12px; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 10px; font-weight: 600; font-size: 13px; vertical-align: middle; }
.badge.pass { background: #dff3e1; color: #17692a; } .badge.fail { background: #fbe0e0; color: #a11d1d; } .badge.none { background: #eee; color: #555; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e8e8e8; white-space: nowrap; }
#thresholds td:last-child, #metrics td:last-child { white-space: normal; color: #555; }
th { background: #f6f6f6; font-weight: 600; }
tr.pass td:nth-child(3) { color: #17692a; font-weight: 600; } tr.fail td { background: #fdf1f1; } tr.fail td:nth-child(3) { color: #a11d1d; font-weight: 700; }
tr.total td { font-weight: 600; border-top: 2px solid #ccc; }
.chart { display: block; margin: 8px 0 4px; border: 1px solid #eee; max-width: 100%; height: auto; }
ul.warnings li { color: #8a5300; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; } .card { border: 1px solid #e5e5e5; border-radius: 6px; padding: 8px 12px; min-width: 130px; }
.card b { display: block; font-size: 18px; } .card span { color: #666; font-size: 12px; }
</style>
</head>
<body>
<h1>bench: ${esc(r.scenario.name)} ${verdict}</h1>
<p class="meta">${esc(r.scenario.kind)} scenario → ${esc(r.scenario.baseUrl)}${r.scenario.file ? ` (${esc(r.scenario.file)})` : ''}<br>
${esc(describeLoad(r))}; started ${esc(r.startedAt)}; measured ${esc(formatDuration(r.measuredMs))}${r.load.warmupMs ? ` after ${esc(formatDuration(r.load.warmupMs))} warm-up` : ''}; ${esc(stopText(r))}</p>
${cards(r)}
<h2>Thresholds</h2>
${r.thresholds.length ? `<table id="thresholds"><thead><tr><th>Threshold</th><th>Observed</th><th>Result</th><th>Source</th></tr></thead><tbody>\n${thresholdRows}\n</tbody></table>` : '<p>No thresholds were set (use --threshold, --preset or the scenario file).</p>'}
<h2>Over time</h2>
${latency}
${throughput}
${errors}
${failuresByCause(r)}
<h2>Requests</h2>
<table id="requests"><thead><tr><th>Name</th><th>Method</th><th>Requests</th><th>RPS</th><th>Failed</th><th>Min</th><th>Med</th><th>P90</th><th>P95</th><th>P99</th><th>P99.9</th><th>Max</th></tr></thead><tbody>
${requestRows}
</tbody></table>
${r.metrics.length ? `<h2>Scenario metrics</h2>\n<table id="metrics"><thead><tr><th>Metric</th><th>Name</th><th>Value</th></tr></thead><tbody>\n${metricRows}\n</tbody></table>` : ''}
<h2>Generator self-check</h2>
<p>Event loop busy ${Math.round(s.eventLoopUtilization * 100)}% · event-loop lag p50 ${fmtMs(s.eventLoopLagMs.p50)}, p99 ${fmtMs(s.eventLoopLagMs.p99)}, max ${fmtMs(s.eventLoopLagMs.max)} · scheduling delay p50 ${fmtMs(s.schedulingDelayMs.p50)}, p99 ${fmtMs(s.schedulingDelayMs.p99)}, max ${fmtMs(s.schedulingDelayMs.max)}${coldStartText(r) ? `<br>${esc(coldStartText(r)!)}` : ''}${r.warmup ? `<br>Warm-up (excluded above): ${r.warmup.requests} requests, ${r.warmup.failed} failed, p95 ${fmtMs(r.warmup.latency.p95)}` : ''}</p>
${r.warnings.length ? `<ul class="warnings">${r.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : ''}
<p class="meta">sentinel-ctl bench · latencies from HDR histograms${r.load.model === 'open' ? ", measured from each request's due time (no coordinated omission)" : ''}.</p>
</body>
</html>
`;
}

/** Failures by cause (k6's error codes), per request name; nothing when no request failed. */
function failuresByCause(r: BenchResult): string {
  const rows = r.requests.filter((q) => q.failed > 0);
  if (rows.length === 0) return '';
  return `<h2>Failures by cause</h2>
<table id="failures"><thead><tr><th>Name</th><th>Failed</th><th>Causes</th></tr></thead><tbody>
${rows.map((q) => `<tr${q.name === OVERALL ? ' class="total"' : ''}><td>${esc(q.name === OVERALL ? 'all requests' : q.name)}</td><td>${q.failed}</td><td>${esc(causesText(q.failures))}</td></tr>`).join('\n')}
</tbody></table>`;
}

function cards(r: BenchResult): string {
  const all = r.requests.find((q) => q.name === OVERALL);
  if (!all) return '';
  const card = (value: string, label: string) =>
    `<div class="card"><b>${esc(value)}</b><span>${esc(label)}</span></div>`;
  return `<div class="cards">${[
    card(String(all.requests), 'requests'),
    card(fmtRate(all.rps), 'requests/s'),
    card(fmtPct(all.failureRate), 'failed'),
    card(fmtMs(all.latency.p95), 'p95 latency'),
    card(fmtMs(all.latency.p99), 'p99 latency'),
  ].join('')}</div>`;
}
