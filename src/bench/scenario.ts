import { UserError } from '../lib/errors.js';
import { defaultPayloads, type Payload } from './payloads.js';
import type { RawThreshold } from './thresholds.js';

/** Variables every request may use besides the ones a setup step captures. */
export const builtinVariables = ['vu', 'iter', 'uuid', 'timestamp'] as const;

/** One request of a scenario, resolved: plain data so it can be sent to worker threads. */
export interface RequestSpec {
  name: string;
  method: string;
  /** Path and query, with `${var}` placeholders. */
  path: string;
  headers: Record<string, string>;
  /** A raw body, or `json` (serialised per request when it holds variables). */
  body?: string;
  json?: unknown;
  /** Accepted statuses; empty means k6's default expectation, 200–399. */
  expect: number[];
  /** Variables to keep from the JSON response: name → path such as `$.access_token`. */
  capture: Record<string, string>;
  weight: number;
}

export interface HttpScenarioSpec {
  kind: 'http';
  name: string;
  baseUrl: string;
  setup?: RequestSpec;
  requests: RequestSpec[];
  thinkTime?: { minMs: number; maxMs: number };
}

export interface SentinelScenarioSpec {
  kind: 'sentinel';
  name: string;
  baseUrl: string;
  payloads: Payload[];
  pollIntervalMs: number;
  pollTimeoutMs: number;
}

export type ScenarioSpec = HttpScenarioSpec | SentinelScenarioSpec;

/** Load settings a scenario file may carry; flags override each of them. */
export interface ScenarioLoad {
  model?: 'closed' | 'open';
  vus?: number;
  rate?: number;
  stages?: string;
  duration?: string;
  iterations?: number;
  maxVus?: number;
  warmup?: string;
}

export interface LoadedScenario {
  spec: ScenarioSpec;
  load: ScenarioLoad;
  thresholds: RawThreshold[];
  file?: string;
}

/**
 * The built-in Sentinel defaults: poll once a second and give up after 30 polls, as the
 * deployment guide's smoke test does (Sentinel deployment guide, "3. Submit Test Job").
 */
export const SENTINEL_POLL_INTERVAL_MS = 1000;
export const SENTINEL_POLL_TIMEOUT_MS = 30_000;

/** The built-in `sentinel` scenario: the default payload set against the API contract. */
export function builtinSentinelScenario(baseUrl: string): LoadedScenario {
  return {
    spec: {
      kind: 'sentinel',
      name: 'sentinel',
      baseUrl,
      payloads: defaultPayloads,
      pollIntervalMs: SENTINEL_POLL_INTERVAL_MS,
      pollTimeoutMs: SENTINEL_POLL_TIMEOUT_MS,
    },
    load: {},
    thresholds: [],
  };
}

/** Cross-field rules: unique names, and every `${var}` defined by a capture, a built-in or `env.`. */
export function checkScenario(
  spec: HttpScenarioSpec,
  file: string,
  lineOf: (p: PropertyKey[]) => number | undefined,
): void {
  const seen = new Set<string>();
  const known = new Set<string>([...builtinVariables, ...Object.keys(spec.setup?.capture ?? {})]);
  for (const r of spec.requests) for (const k of Object.keys(r.capture)) known.add(k);
  const all = [
    ...(spec.setup ? [['setup', spec.setup] as const] : []),
    ...spec.requests.map((r, i) => [`requests.${i}`, r] as const),
  ];
  for (const [where, r] of all) {
    if (where !== 'setup') {
      if (seen.has(r.name) || r.name === spec.setup?.name) {
        throw new UserError(
          `${file}:${lineOf(where.split('.'))}: ${where}.name: "${r.name}" is used twice; names key the metrics.`,
          { code: 'SCENARIO' },
        );
      }
      seen.add(r.name);
    }
    const texts = [r.path, ...Object.values(r.headers), r.body ?? '', JSON.stringify(r.json ?? null)];
    for (const t of texts) {
      for (const m of t.matchAll(/\$\{([^}]*)\}/g)) {
        const v = m[1]!.trim();
        if (v.startsWith('env.')) {
          if (process.env[v.slice(4)] === undefined) {
            throw new UserError(
              `${file}: ${where}: uses \${${v}} but ${v.slice(4)} is not set in the environment.`,
              {
                code: 'SCENARIO',
                suggestion: `Set it for the run: ${v.slice(4)}=... sentinel-ctl bench --scenario ${file}`,
              },
            );
          }
        } else if (!known.has(v)) {
          throw new UserError(
            `${file}:${lineOf(where.split('.'))}: ${where}: uses \${${v}}, which no capture defines (built-ins: ${builtinVariables.join(', ')}, env.NAME).`,
            { code: 'SCENARIO' },
          );
        }
      }
    }
  }
}

/** The quick single-URL scenario (`bench URL` with wrk/autocannon-style flags). */
export function urlScenario(
  url: string,
  opts: { method: string; headers: Record<string, string>; body?: string; expect: number[] },
): LoadedScenario {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`"${url}" is not a URL.`, {
      suggestion: 'Example: sentinel-ctl bench http://127.0.0.1:8080/api/v1/health',
    });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new UserError(`"${url}" is not an http(s) URL.`);
  }
  const path = `${u.pathname}${u.search}`;
  return {
    spec: {
      kind: 'http',
      name: `${opts.method} ${u.origin}${path}`,
      baseUrl: u.origin,
      requests: [
        {
          name: `${opts.method} ${path}`,
          method: opts.method,
          path,
          headers: opts.headers,
          body: opts.body,
          expect: opts.expect,
          capture: {},
          weight: 1,
        },
      ],
    },
    load: {},
    thresholds: [],
  };
}

/** Every name the scenario records metrics under (for threshold selectors and reports). */
export function scenarioNames(spec: ScenarioSpec): string[] {
  if (spec.kind === 'sentinel') return ['submit', 'poll', ...spec.payloads.map((p) => p.name)];
  return [...(spec.setup ? [spec.setup.name] : []), ...spec.requests.map((r) => r.name)];
}

/** A template compiled once: literal parts and variable names alternate. */
export type Template = string | Array<string | { v: string }>;

export function compileTemplate(text: string): Template {
  if (!text.includes('${')) return text;
  const parts: Array<string | { v: string }> = [];
  let last = 0;
  for (const m of text.matchAll(/\$\{([^}]*)\}/g)) {
    parts.push(text.slice(last, m.index));
    const v = m[1]!.trim();
    parts.push(v.startsWith('env.') ? (process.env[v.slice(4)] ?? '') : { v });
    last = m.index! + m[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}

export function renderTemplate(
  t: Template,
  vars: Record<string, string>,
  encode?: (s: string) => string,
): string {
  if (typeof t === 'string') return t;
  let out = '';
  for (const p of t) {
    if (typeof p === 'string') out += p;
    else out += encode ? encode(vars[p.v] ?? '') : (vars[p.v] ?? '');
  }
  return out;
}

/** Reads `$.a.b[0]` from a parsed JSON value. */
export function readJsonPath(value: unknown, path: string): unknown {
  let cur = value;
  for (const m of path.slice(1).matchAll(/\.([^.[\]]+)|\[(\d+)\]/g)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = m[1] !== undefined ? (cur as Record<string, unknown>)[m[1]] : (cur as unknown[])[Number(m[2])];
  }
  return cur;
}

/** Picks an index with probability proportional to its weight (Locust's @task(weight)). */
export function weightedPicker(weights: number[]): () => number {
  if (weights.length === 1) return () => 0;
  const cum: number[] = [];
  let total = 0;
  for (const w of weights) {
    total += w;
    cum.push(total);
  }
  return () => {
    const r = Math.random() * total;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}
