import { readFileSync } from 'node:fs';
import { isMap, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { UserError } from '../lib/errors.js';
import { parseDuration } from './duration.js';
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

const duration = z.string().refine((s) => parseDuration(s) !== undefined, {
  message: 'expected a duration such as 500ms, 2s or 1m30s',
});
const statusCode = z.number().int().min(100).max(599);
const headers = z.record(z.string(), z.union([z.string(), z.number()]).transform(String));

const requestSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .regex(/^[^{},]+$/, 'a request name may not contain { } or ,'),
  method: z
    .string()
    .transform((m) => m.toUpperCase())
    .pipe(z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']))
    .default('GET'),
  path: z.string().startsWith('/', 'a path starts with / (the base URL comes from baseUrl)'),
  headers: headers.optional(),
  body: z.string().optional(),
  json: z.unknown().optional(),
  expect: z.union([statusCode, z.array(statusCode).min(1)]).optional(),
  capture: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
      z
        .string()
        .regex(/^\$(\.[^.[\]]+|\[\d+\])*$/, 'expected a JSON path such as $.access_token or $.data[0].id'),
    )
    .optional(),
  weight: z.number().positive().default(1),
});

const thresholdEntry = z.union([
  z.string(),
  z.strictObject({
    threshold: z.string(),
    abortOnFail: z.boolean().optional(),
    delayAbortEval: duration.optional(),
  }),
]);

const loadSchema = z.strictObject({
  model: z.enum(['closed', 'open']).optional(),
  vus: z.number().int().positive().optional(),
  rate: z.number().positive().optional(),
  stages: z.string().optional(),
  duration: duration.optional(),
  iterations: z.number().int().positive().optional(),
  maxVus: z.number().int().positive().optional(),
  warmup: duration.optional(),
});

const payloadSchema = z.strictObject({
  name: z.string().min(1),
  language: z.enum(['python', 'cpp']),
  source: z.string().min(1),
  stdin: z.string().optional(),
  expectedStdout: z.string(),
  expectedStatus: z.string().default('SUCCESS'),
  weight: z.number().positive().default(1),
});

const common = {
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  baseUrl: z.url({ protocol: /^https?$/ }).optional(),
  load: loadSchema.optional(),
  thresholds: z.record(z.string(), z.array(thresholdEntry).min(1)).optional(),
};

const httpScenarioSchema = z.strictObject({
  ...common,
  kind: z.literal('http').default('http'),
  headers: headers.optional(),
  setup: requestSchema.omit({ weight: true }).optional(),
  requests: z.array(requestSchema).min(1),
  thinkTime: z
    .strictObject({ min: duration, max: duration })
    .refine((t) => parseDuration(t.min)! <= parseDuration(t.max)!, { message: 'min must not exceed max' })
    .optional(),
});

const sentinelScenarioSchema = z.strictObject({
  ...common,
  kind: z.literal('sentinel'),
  sentinel: z
    .strictObject({
      payloads: z.array(payloadSchema).min(1).optional(),
      pollInterval: duration.optional(),
      pollTimeout: duration.optional(),
    })
    .optional(),
});

export const scenarioSchema = z.union([httpScenarioSchema, sentinelScenarioSchema]);

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

/** Reads a scenario file; every problem is reported as `file:line: path: reason` (exit 2). */
export function loadScenarioFile(file: string, baseUrlOverride?: string): LoadedScenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(
      `Cannot read scenario file ${file}: ${(error as NodeJS.ErrnoException).code ?? error}.`,
      {
        code: 'SCENARIO',
        suggestion: 'Pass a YAML file (see scenarios/ for examples) or the built-in name "sentinel".',
      },
    );
  }
  return parseScenario(text, file, baseUrlOverride);
}

/** Parses and validates scenario YAML (exported for tests, which pass text directly). */
export function parseScenario(text: string, file: string, baseUrlOverride?: string): LoadedScenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const pos = lineCounter.linePos(err.pos[0]);
    throw new UserError(`${file}:${pos.line}: not valid YAML: ${err.message.split('\n')[0]}`, {
      code: 'SCENARIO',
    });
  }
  const data = doc.toJS() as unknown;
  const lineOf = (path: PropertyKey[]): number | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n) as unknown[], true) as { range?: [number, number] } | undefined;
      if (node?.range) return lineCounter.linePos(node.range[0]).line;
      const parent = doc.getIn(path.slice(0, n - 1) as unknown[], true);
      if (n > 0 && isMap(parent)) {
        const pair = parent.items.find(
          (p) => String((p.key as { value?: unknown })?.value) === String(path[n - 1]),
        );
        const range = (pair?.key as { range?: [number, number] } | undefined)?.range;
        if (range) return lineCounter.linePos(range[0]).line;
      }
    }
    return undefined;
  };
  const issueText = (issue: z.core.$ZodIssue): string => {
    const line = lineOf(issue.path);
    const where = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
    return `${file}${line ? `:${line}` : ''}: ${where}: ${issue.message}`;
  };
  // Pick the schema by `kind` first, so errors talk about the scenario the user meant.
  const kind = (data as { kind?: unknown } | null)?.kind;
  const parsed =
    kind === 'sentinel' ? sentinelScenarioSchema.safeParse(data) : httpScenarioSchema.safeParse(data ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.slice(0, 5).map(issueText);
    throw new UserError(lines.join('\n'), {
      code: 'SCENARIO',
      suggestion: 'Fix the scenario file; scenarios/jackdaw.yaml shows every field.',
    });
  }
  const s = parsed.data;
  const baseUrl = baseUrlOverride ?? s.baseUrl;
  if (!baseUrl) {
    throw new UserError(`${file}: baseUrl: missing, and no --base-url was given.`, { code: 'SCENARIO' });
  }
  const name = s.name ?? file.replace(/^.*\//, '').replace(/\.ya?ml$/, '');
  const thresholds: RawThreshold[] = Object.entries(s.thresholds ?? {}).flatMap(([key, list]) =>
    list.map((entry, i) => {
      const source = `${file}:${lineOf(['thresholds', key, i]) ?? '?'} thresholds.${key}[${i}]`;
      return typeof entry === 'string'
        ? { key, expression: entry, source }
        : {
            key,
            expression: entry.threshold,
            abortOnFail: entry.abortOnFail,
            delayAbortEval: entry.delayAbortEval,
            source,
          };
    }),
  );
  if (s.kind === 'sentinel') {
    const payloads = s.sentinel?.payloads ?? defaultPayloads;
    return {
      spec: {
        kind: 'sentinel',
        name,
        baseUrl,
        payloads,
        pollIntervalMs: parseDuration(s.sentinel?.pollInterval ?? '') ?? SENTINEL_POLL_INTERVAL_MS,
        pollTimeoutMs: parseDuration(s.sentinel?.pollTimeout ?? '') ?? SENTINEL_POLL_TIMEOUT_MS,
      },
      load: s.load ?? {},
      thresholds,
      file,
    };
  }
  const defaults = s.headers ?? {};
  const toSpec = (
    r: z.infer<typeof requestSchema> | (z.infer<typeof httpScenarioSchema>['setup'] & object),
  ) => ({
    name: r.name,
    method: r.method,
    path: r.path,
    headers: { ...defaults, ...(r.headers ?? {}) },
    body: r.body,
    json: r.json,
    expect: r.expect === undefined ? [] : Array.isArray(r.expect) ? r.expect : [r.expect],
    capture: r.capture ?? {},
    weight: 'weight' in r ? r.weight : 1,
  });
  const spec: HttpScenarioSpec = {
    kind: 'http',
    name,
    baseUrl,
    setup: s.setup ? toSpec(s.setup) : undefined,
    requests: s.requests.map(toSpec),
    thinkTime: s.thinkTime
      ? { minMs: parseDuration(s.thinkTime.min)!, maxMs: parseDuration(s.thinkTime.max)! }
      : undefined,
  };
  checkScenario(spec, file, lineOf);
  return { spec, load: s.load ?? {}, thresholds, file };
}

/** Cross-field rules: unique names, and every `${var}` defined by a capture, a built-in or `env.`. */
function checkScenario(
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
