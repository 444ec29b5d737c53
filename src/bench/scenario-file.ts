import { isMap, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { UserError } from '../lib/errors.js';
import { readInputFile } from '../lib/fs.js';
import { parseDuration } from './duration.js';
import { defaultPayloads } from './payloads.js';
import {
  checkScenario,
  type HttpScenarioSpec,
  type LoadedScenario,
  SENTINEL_POLL_INTERVAL_MS,
  SENTINEL_POLL_TIMEOUT_MS,
} from './scenario.js';
import type { RawThreshold } from './thresholds.js';

/*
 * Scenario files: YAML parsed with line numbers, validated with zod. Apart from scenario.ts so a
 * single-URL run never loads yaml and zod (about 0.08 CPU-second of start-up).
 */

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
/** Reads a scenario file; every problem is reported as `file:line: path: reason` (exit 2). */
export function loadScenarioFile(file: string, baseUrlOverride?: string): LoadedScenario {
  const text = readInputFile(file, 'a YAML scenario file', {
    code: 'SCENARIO',
    suggestion: 'Pass a YAML file (see scenarios/ for examples) or the built-in name "sentinel".',
  });
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
      suggestion: 'Fix the YAML at the line shown; scenarios/jackdaw.yaml shows every field.',
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
