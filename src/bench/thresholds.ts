import { UserError } from '../lib/errors.js';
import { parseDuration } from './duration.js';
import { createHistogram, type Histogram, meanOf } from './histogram.js';
import { type MetricStore, OVERALL } from './metrics.js';

/**
 * Thresholds in k6's grammar (https://grafana.com/docs/k6/latest/using-k6/thresholds/):
 * `metric{tag:value}` → `aggregation operator number`, e.g. `http_req_duration{name:login}`
 * with `p(95)<100`. Units are k6's: durations in milliseconds, rates as fractions (0.001 = 0.1 %),
 * counter rates per second.
 */

export type MetricType = 'trend' | 'counter' | 'rate' | 'gauge';

/** The metrics a threshold can name, with k6's metric types. */
export const metricCatalog: Record<string, { type: MetricType; description: string }> = {
  http_req_duration: {
    type: 'trend',
    description: 'request latency (ms), from the due time in the open model',
  },
  http_reqs: { type: 'counter', description: 'requests made' },
  http_req_failed: { type: 'rate', description: 'requests with an unexpected status or a network error' },
  data_received: { type: 'counter', description: 'response body bytes' },
  iterations: { type: 'counter', description: 'scenario iterations completed' },
  iteration_duration: { type: 'trend', description: 'iteration duration (ms)' },
  dropped_iterations: { type: 'counter', description: 'open-model arrivals that found no free VU' },
  checks: { type: 'rate', description: 'checks that passed (the Sentinel scenario compares stdout)' },
  vus: { type: 'gauge', description: 'active virtual users at the end' },
  vus_max: { type: 'gauge', description: 'most virtual users allocated' },
  e2e_duration: { type: 'trend', description: 'submission to terminal status (ms), Sentinel scenario' },
  execution_errors: { type: 'rate', description: 'submissions that ended in an error status' },
  poll_timeouts: { type: 'counter', description: 'submissions still not terminal at the poll timeout' },
};

/** Aggregations allowed per metric type, as in k6. */
const aggregationsByType: Record<MetricType, string[]> = {
  trend: ['avg', 'min', 'max', 'med', 'p(N)'],
  counter: ['count', 'rate'],
  rate: ['rate'],
  gauge: ['value'],
};

/** Tag keys a selector may use: request name for every metric, method for the http_* ones. */
const tagKeys = ['name', 'method'];

export type Operator = '<' | '<=' | '>' | '>=' | '==' | '!=';

export interface ThresholdDef {
  /** The metric as written, with its selector: `http_req_duration{name:login}`. */
  key: string;
  metric: string;
  tags: Record<string, string>;
  /** The expression as written: `p(95)<100`. */
  expression: string;
  aggregation: string;
  percentile?: number;
  operator: Operator;
  value: number;
  abortOnFail: boolean;
  delayAbortEvalMs: number;
  /** Where it came from: a file and path, `--threshold`, or a preset and its guide. */
  source: string;
}

/** A threshold before parsing: one entry of a scenario file, a flag or a preset. */
export interface RawThreshold {
  key: string;
  expression: string;
  abortOnFail?: boolean;
  delayAbortEval?: string;
  source: string;
}

function fail(source: string, text: string, column: number, reason: string): never {
  const pointer = `${text}\n${' '.repeat(Math.max(0, column))}^`;
  throw new UserError(`Invalid threshold in ${source}: ${reason}\n${pointer}`, {
    code: 'BAD_THRESHOLD',
    suggestion:
      "Write thresholds as k6 does: http_req_duration: ['p(95)<100'], http_req_failed: ['rate<0.01'], http_reqs: ['rate>500'].",
  });
}

/** Parses `metric{tag:value,...}` and checks the metric and tag names. */
export function parseMetricKey(
  key: string,
  source: string,
): { metric: string; tags: Record<string, string> } {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\{([^{}]*)\})?\s*$/.exec(key);
  if (!m)
    fail(source, key, Math.max(0, key.search(/[^A-Za-z0-9_\s]/)), 'expected METRIC or METRIC{tag:value}');
  const metric = m[1]!;
  if (!metricCatalog[metric]) {
    fail(
      source,
      key,
      key.indexOf(metric),
      `unknown metric "${metric}"; known: ${Object.keys(metricCatalog).join(', ')}`,
    );
  }
  const tags: Record<string, string> = {};
  if (m[2] !== undefined) {
    const base = key.indexOf('{') + 1;
    let offset = 0;
    for (const part of m[2].split(',')) {
      const col = base + offset;
      offset += part.length + 1;
      const t = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.+?)\s*$/.exec(part);
      if (!t) fail(source, key, col, `selector "${part.trim()}" is not tag:value`);
      if (!tagKeys.includes(t[1]!))
        fail(source, key, col, `unknown tag "${t[1]}"; use ${tagKeys.join(' or ')}`);
      if (t[1] === 'method' && !metric.startsWith('http_') && metric !== 'data_received') {
        fail(source, key, col, `the method tag applies to http_* metrics only`);
      }
      tags[t[1]!] = t[2]!.replace(/^(["'])(.*)\1$/, '$2');
    }
  }
  return { metric, tags };
}

/** Parses one threshold (metric key + expression) into a definition, or exits 2 pointing at the fault. */
export function parseThreshold(raw: RawThreshold): ThresholdDef {
  const { metric, tags } = parseMetricKey(raw.key, raw.source);
  const type = metricCatalog[metric]!.type;
  const text = raw.expression;
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  ws();
  const aggStart = i;
  const word = /^[A-Za-z]+/.exec(text.slice(i))?.[0] ?? '';
  i += word.length;
  let aggregation = word;
  let percentile: number | undefined;
  if (word === 'p') {
    ws();
    if (text[i] !== '(') fail(raw.source, text, i, 'expected "(" after p, as in p(95)');
    i++;
    ws();
    const num = /^\d+(?:\.\d+)?/.exec(text.slice(i))?.[0];
    if (!num) fail(raw.source, text, i, 'expected a percentile number, as in p(99.9)');
    percentile = Number(num);
    if (!(percentile > 0 && percentile <= 100))
      fail(raw.source, text, i, 'the percentile must be in (0, 100]');
    i += num.length;
    ws();
    if (text[i] !== ')') fail(raw.source, text, i, 'expected ")" to close p(');
    i++;
    aggregation = 'p(N)';
  } else if (!['avg', 'min', 'max', 'med', 'count', 'rate', 'value'].includes(word)) {
    fail(
      raw.source,
      text,
      aggStart,
      word
        ? `unknown aggregation "${word}"; use avg, min, max, med, p(N), count, rate or value`
        : 'expected an aggregation such as p(95), avg, rate or count',
    );
  }
  if (!aggregationsByType[type].includes(aggregation)) {
    fail(
      raw.source,
      text,
      aggStart,
      `${aggregation === 'p(N)' ? `p(${percentile})` : aggregation} does not apply to ${metric} (a ${type}); use ${aggregationsByType[type].join(', ')}`,
    );
  }
  ws();
  const op = /^(<=|>=|==|!=|<|>)/.exec(text.slice(i))?.[0] as Operator | undefined;
  if (!op) fail(raw.source, text, i, 'expected an operator: <, <=, >, >=, == or !=');
  i += op.length;
  ws();
  const num = /^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(text.slice(i))?.[0];
  if (!num) fail(raw.source, text, i, 'expected a number (milliseconds for durations, a fraction for rates)');
  i += num.length;
  ws();
  if (i < text.length) fail(raw.source, text, i, `unexpected "${text.slice(i)}" after the number`);
  let delayAbortEvalMs = 0;
  if (raw.delayAbortEval !== undefined) {
    const d = parseDuration(raw.delayAbortEval);
    if (d === undefined)
      fail(raw.source, raw.delayAbortEval, 0, 'delayAbortEval must be a duration such as 10s');
    delayAbortEvalMs = d;
  }
  return {
    key: raw.key.trim(),
    metric,
    tags,
    expression: text.trim(),
    aggregation: aggregation === 'p(N)' ? 'p' : aggregation,
    percentile,
    operator: op,
    value: Number(num),
    abortOnFail: raw.abortOnFail ?? false,
    delayAbortEvalMs,
    source: raw.source,
  };
}

/**
 * The command-line form: `METRIC[{tag:value}]:EXPRESSION[;abortOnFail][;delayAbortEval=DUR]`,
 * e.g. `http_req_duration{name:login}:p(95)<100;abortOnFail`.
 */
export function parseThresholdFlag(text: string, index: number): ThresholdDef {
  const source = `--threshold #${index + 1}`;
  // The colon inside a {tag:value} selector is not the separator: look after the closing brace.
  const selector = /^\s*[A-Za-z_][A-Za-z0-9_]*\s*\{/.test(text);
  const colon = text.indexOf(':', selector ? Math.max(0, text.indexOf('}')) : 0);
  if (colon < 0)
    fail(source, text, text.length, 'expected METRIC:EXPRESSION, as in http_req_duration:p(95)<100');
  const [expression, ...options] = text.slice(colon + 1).split(';');
  let abortOnFail = false;
  let delayAbortEval: string | undefined;
  for (const o of options) {
    const opt = o.trim();
    if (opt === 'abortOnFail') abortOnFail = true;
    else if (opt.startsWith('delayAbortEval=')) delayAbortEval = opt.slice('delayAbortEval='.length);
    else
      fail(source, text, text.indexOf(o), `unknown option "${opt}"; use abortOnFail or delayAbortEval=10s`);
  }
  return parseThreshold({
    key: text.slice(0, colon),
    expression: expression ?? '',
    abortOnFail,
    delayAbortEval,
    source,
  });
}

/** What a run measured, as the thresholds need it. */
export interface ThresholdInput {
  store: MetricStore;
  durationMs: number;
  gauges: { vus: number; vus_max: number };
}

/** Request names matching a selector (all of them under OVERALL when there is none). */
function matchingNames(store: MetricStore, tags: Record<string, string>): string[] | undefined {
  if (!tags.name && !tags.method) return undefined;
  return [...store.requests]
    .filter(
      ([n, s]) =>
        n !== OVERALL && (!tags.name || n === tags.name) && (!tags.method || s.method === tags.method),
    )
    .map(([n]) => n);
}

/** The observed value a threshold compares, or NaN when there is no data to judge. */
export function observe(def: ThresholdDef, input: ThresholdInput): number {
  const { store, durationMs } = input;
  const secs = durationMs / 1000;
  const names = matchingNames(store, def.tags);
  const reqNames = names ?? [OVERALL];
  const reqs = reqNames.map((n) => store.requests.get(n)).filter((s) => s !== undefined);
  const sum = (f: (s: (typeof reqs)[number]) => number) => reqs.reduce((a, s) => a + f(s), 0);
  const label = def.tags.name ?? OVERALL;
  let hist: Histogram | undefined;
  switch (def.metric) {
    case 'http_req_duration':
      if (reqs.length === 1) hist = reqs[0]!.duration;
      else if (reqs.length > 1) {
        hist = createHistogram();
        for (const s of reqs) hist.add(s.duration);
      }
      break;
    case 'http_reqs':
      return def.aggregation === 'count' ? sum((s) => s.count) : secs > 0 ? sum((s) => s.count) / secs : NaN;
    case 'data_received':
      return def.aggregation === 'count' ? sum((s) => s.bytes) : secs > 0 ? sum((s) => s.bytes) / secs : NaN;
    case 'http_req_failed': {
      const total = sum((s) => s.count);
      return total > 0 ? sum((s) => s.failed) / total : NaN;
    }
    case 'vus':
      return input.gauges.vus;
    case 'vus_max':
      return input.gauges.vus_max;
    default: {
      const type = metricCatalog[def.metric]!.type;
      if (type === 'trend') hist = store.trend(def.metric, label);
      else if (type === 'rate') {
        const cell = store.rate(def.metric, label);
        return cell && cell.total > 0 ? cell.hits / cell.total : NaN;
      } else if (type === 'counter') {
        const n = store.counter(def.metric, label);
        return def.aggregation === 'count' ? n : secs > 0 ? n / secs : NaN;
      }
    }
  }
  if (!hist || hist.totalCount === 0) return NaN;
  const ms = (v: number) => v / 1000;
  switch (def.aggregation) {
    case 'avg':
      return ms(meanOf(hist));
    case 'min':
      return ms(hist.getValueAtPercentile(0));
    case 'max':
      return ms(hist.getValueAtPercentile(100));
    case 'med':
      return ms(hist.getValueAtPercentile(50));
    default:
      return ms(hist.getValueAtPercentile(def.percentile ?? 50));
  }
}

export function compare(observed: number, op: Operator, value: number): boolean {
  if (Number.isNaN(observed)) return false;
  switch (op) {
    case '<':
      return observed < value;
    case '<=':
      return observed <= value;
    case '>':
      return observed > value;
    case '>=':
      return observed >= value;
    case '==':
      return observed === value;
    case '!=':
      return observed !== value;
  }
}

export interface ThresholdResult {
  metric: string;
  expression: string;
  source: string;
  abortOnFail: boolean;
  /** null when there was no data: a threshold that cannot be judged fails, so CI never passes on nothing. */
  observed: number | null;
  /** The observed value with its unit, as the tables print it. */
  observedText: string;
  pass: boolean;
}

/** Formats an observed value in the unit of its metric and aggregation. */
export function formatObserved(def: Pick<ThresholdDef, 'metric' | 'aggregation'>, v: number): string {
  if (Number.isNaN(v)) return 'no data';
  const type = metricCatalog[def.metric]?.type;
  if (type === 'trend') return `${round(v, 2)}ms`;
  if (type === 'rate') return `${round(v * 100, 3)}%`;
  if (def.aggregation === 'rate') return `${round(v, 2)}/s`;
  return String(round(v, 2));
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Evaluates every threshold against what a run measured. */
export function evaluateThresholds(defs: ThresholdDef[], input: ThresholdInput): ThresholdResult[] {
  return defs.map((def) => {
    const v = observe(def, input);
    return {
      metric: def.key,
      expression: def.expression,
      source: def.source,
      abortOnFail: def.abortOnFail,
      observed: Number.isNaN(v) ? null : v,
      observedText: formatObserved(def, v),
      pass: compare(v, def.operator, def.value),
    };
  });
}

/** Refuses selectors that name requests the scenario does not have (a typo would never match). */
export function checkSelectors(defs: ThresholdDef[], requestNames: string[]): void {
  for (const def of defs) {
    const name = def.tags.name;
    if (name !== undefined && !requestNames.includes(name)) {
      throw new UserError(
        `Threshold ${def.key} (${def.source}) selects name "${name}", which this scenario does not have.`,
        { code: 'BAD_THRESHOLD', suggestion: `Request names here: ${requestNames.join(', ') || '(none)'}.` },
      );
    }
  }
}
