import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CheckFailedError, ExitCode, SentinelError, UserError } from '../lib/errors.js';
import { parseDuration } from './duration.js';
import { type PresetName, presetThresholds } from './presets.js';
import { plainProgressLine } from './progress.js';
import { type BenchReport, type BenchResult, buildReport, toResult } from './report/model.js';
import { thresholdTable } from './report/summary.js';
import { type OutputSpec, parseOutput, writeOutputs } from './report/write.js';
import { type BenchPlan, type LoadSettings, type ProgressSnapshot, peakVUs, runBench } from './run.js';
import { builtinSentinelScenario, type LoadedScenario, scenarioNames, urlScenario } from './scenario.js';
import { parseStages, type Stage } from './stages.js';
import { checkSelectors, parseThreshold, parseThresholdFlag, type RawThreshold } from './thresholds.js';

/** The `bench` flags after oclif parsed them (names as on the command line). */
export interface BenchInput {
  target?: string;
  scenario?: string;
  'base-url'?: string;
  method: string;
  header?: string[];
  body?: string;
  expect?: number[];
  model?: 'closed' | 'open';
  vus?: number;
  rate?: number;
  stages?: string;
  duration?: string;
  iterations?: number;
  'max-vus'?: number;
  connections?: number;
  warmup?: string;
  workers: number;
  'graceful-stop'?: string;
  timeout: string;
  prime: boolean;
  shard?: string;
  'start-at'?: string;
  'poll-interval'?: string;
  threshold?: string[];
  preset?: PresetName[];
  assert: boolean;
  out?: string[];
  progress: 'auto' | 'tty' | 'plain' | 'none';
}

/** Where the shipped scenario files live (scenarios/ at the package root, from src/ or dist/). */
const scenariosDir = fileURLToPath(new URL('../../scenarios/', import.meta.url));

function duration(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === undefined)
    throw new UserError(`${flag} "${text}" is not a duration.`, {
      suggestion: 'Examples: 500ms, 30s, 1m30s.',
    });
  return ms;
}

function timeout(text: string): number {
  const ms = duration(text, '--timeout');
  if (ms <= 0) throw new UserError('--timeout must be above 0.', { suggestion: 'Example: --timeout 500ms' });
  return ms;
}

/** Finds the scenario: a URL, the built-in `sentinel`, a shipped name (`jackdaw`), or a file. */
export async function resolveScenario(
  input: BenchInput,
  defaultApiUrl: () => string,
): Promise<LoadedScenario> {
  if (input.target && input.scenario) {
    throw new UserError('Give either a URL or --scenario, not both.', {
      suggestion: 'Use --base-url to point a scenario at another server.',
    });
  }
  if (input.target) {
    const headers: Record<string, string> = {};
    for (const h of input.header ?? []) {
      const i = h.indexOf(':');
      if (i <= 0) throw new UserError(`--header "${h}" is not "Name: value".`);
      headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
    }
    if (input.body !== undefined && !headers['content-type']) {
      headers['content-type'] = /^\s*[[{]/.test(input.body) ? 'application/json' : 'text/plain';
    }
    return urlScenario(input.target, {
      method: input.method,
      headers,
      body: input.body,
      expect: input.expect ?? [],
    });
  }
  const name = input.scenario;
  if (!name) {
    throw new UserError('Nothing to benchmark: give a URL or --scenario.', {
      suggestion:
        'sentinel-ctl bench http://127.0.0.1:8080/api/v1/health -c 50 -d 10s, or --scenario sentinel',
    });
  }
  const shipped = `${scenariosDir}${name}.yaml`;
  const file = !existsSync(name) && /^[a-z0-9-]+$/.test(name) && existsSync(shipped) ? shipped : name;
  const scenario =
    name === 'sentinel' && !existsSync(name)
      ? builtinSentinelScenario(input['base-url'] ?? defaultApiUrl())
      : // yaml and zod load only for scenario files (scenario-file.ts), never in single-URL mode.
        (await import('./scenario-file.js')).loadScenarioFile(file, input['base-url']);
  if (input['poll-interval'] !== undefined) {
    if (scenario.spec.kind !== 'sentinel')
      throw new UserError('--poll-interval applies to the sentinel scenario only.', {
        suggestion: 'Use it with --scenario sentinel (or a scenario file of kind: sentinel).',
      });
    const ms = duration(input['poll-interval'], '--poll-interval');
    if (ms <= 0) throw new UserError('--poll-interval must be above 0.', { suggestion: 'Example: 100ms' });
    scenario.spec.pollIntervalMs = ms;
  }
  return scenario;
}

/** `--shard i/N` → {index, count} with 1 ≤ i ≤ N. */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || index < 1 || count < 1 || index > count)
    throw new UserError(`--shard "${text}" is not i/N with 1 ≤ i ≤ N.`, {
      suggestion: 'Example: --shard 1/2 on one machine and --shard 2/2 on the other.',
    });
  return { index, count };
}

/** `--start-at`: an ISO time (2026-12-06T01:00:00Z), epoch milliseconds, or +DURATION from now. */
export function parseStartAt(text: string, nowMs = Date.now()): number {
  const t = text.trim();
  if (t.startsWith('+')) return nowMs + duration(t.slice(1), '--start-at');
  const ms = /^\d{12,}$/.test(t) ? Number(t) : Date.parse(t);
  if (!Number.isFinite(ms))
    throw new UserError(`--start-at "${text}" is not a time.`, {
      suggestion: 'Give an ISO time (2026-12-06T01:00:00Z), epoch milliseconds, or +10s.',
    });
  return ms;
}

/** Resolves the load: flags first, then the scenario file's `load:`, then defaults (10 VUs for 10 s, like autocannon). */
export function resolveLoad(input: BenchInput, scenario: LoadedScenario): LoadSettings {
  const fileLoad = scenario.load;
  const model =
    input.model ??
    (input.rate !== undefined ? 'open' : (fileLoad.model ?? (fileLoad.rate ? 'open' : 'closed')));
  const flagLevel = model === 'open' ? input.rate : input.vus;
  const warmupMs = duration(input.warmup ?? fileLoad.warmup ?? '0s', '--warmup');
  const iterations = input.iterations ?? fileLoad.iterations;
  // Flags that set a constant level replace the file's stages; --stages replaces everything.
  const stagesText =
    input.stages ?? (flagLevel === undefined && input.duration === undefined ? fileLoad.stages : undefined);
  let stages: Stage[];
  let startLevel: number;
  if (stagesText) {
    stages = parseStages(stagesText, input.stages ? '--stages' : `${scenario.file}: load.stages`);
    startLevel = warmupMs > 0 ? stages[0]!.target : 0;
  } else {
    const level =
      flagLevel ?? (model === 'open' ? fileLoad.rate : fileLoad.vus) ?? (model === 'open' ? undefined : 10);
    if (level === undefined) {
      throw new UserError('The open model needs an arrival rate.', {
        suggestion: 'Add --rate 100 (arrivals per second) or --stages.',
      });
    }
    // With only an iteration count, k6's maxDuration default (10 min) bounds the run.
    const d = input.duration ?? fileLoad.duration ?? (iterations !== undefined ? '10m' : '10s');
    stages = [{ durationMs: duration(d, '--duration'), target: level }];
    startLevel = level;
  }
  const peak = peakVUs({ startLevel, stages });
  const spec = scenario.spec;
  let preAllocatedVUs = peak;
  let maxVUs = peak;
  if (model === 'open') {
    preAllocatedVUs = input.vus ?? fileLoad.vus ?? Math.max(1, Math.min(peak, 1000));
    // An iteration may last up to the Sentinel poll timeout (30 s): size the cap for that.
    maxVUs =
      input['max-vus'] ??
      fileLoad.maxVus ??
      Math.max(preAllocatedVUs, Math.min(10_000, Math.max(100, peak * 30)));
  }
  const gracefulStopMs = input['graceful-stop']
    ? duration(input['graceful-stop'], '--graceful-stop')
    : spec.kind === 'sentinel'
      ? spec.pollTimeoutMs + 5000
      : 10_000;
  return {
    model,
    startLevel,
    stages,
    warmupMs,
    iterations,
    preAllocatedVUs,
    maxVUs,
    gracefulStopMs,
    connections: input.connections ?? (model === 'closed' ? Math.max(1, peak) : Math.min(maxVUs, 512)),
    timeoutMs: timeout(input.timeout),
    workers: input.workers,
    prime: input.prime,
    shard: input.shard === undefined ? undefined : parseShard(input.shard),
    startAt: input['start-at'] === undefined ? undefined : parseStartAt(input['start-at']),
  };
}

/** Scenario file thresholds, then presets, then --threshold flags; all parsed before the run starts. */
export function resolveThresholds(input: BenchInput, scenario: LoadedScenario) {
  const raw: RawThreshold[] = [
    ...scenario.thresholds,
    ...(input.preset ?? []).flatMap((p) => presetThresholds(p)),
  ];
  const defs = [
    ...raw.map(parseThreshold),
    ...(input.threshold ?? []).map((t, i) => parseThresholdFlag(t, i)),
  ];
  checkSelectors(defs, scenarioNames(scenario.spec));
  return defs;
}

export async function resolvePlan(input: BenchInput, defaultApiUrl: () => string): Promise<BenchPlan> {
  const scenario = await resolveScenario(input, defaultApiUrl);
  return { scenario, load: resolveLoad(input, scenario), thresholds: resolveThresholds(input, scenario) };
}

export interface BenchIo {
  json: boolean;
  isTTY: boolean;
  note: (message: string) => void;
}

/** The thresholds failed under --assert: exit 1, and --json still carries the whole result. */
export class ThresholdsFailedError extends CheckFailedError {
  constructor(override readonly result: BenchResult) {
    const failed = result.thresholds.filter((t) => !t.pass);
    super(
      `${failed.length} of ${result.thresholds.length} thresholds failed: ${failed.map((t) => `${t.metric}: ${t.expression} (observed ${t.observedText})`).join('; ')}`,
      {
        code: 'THRESHOLDS_FAILED',
        result: result,
        suggestion: 'See the threshold table above; the reports (--out) hold the details.',
      },
    );
  }
}

/** An abortOnFail threshold stopped the run: an aborted run is a failed run (exit 1), with or without --assert. */
export class RunAbortedError extends CheckFailedError {
  constructor(override readonly result: BenchResult) {
    super(`The run was aborted by threshold ${result.abortedBy} (abortOnFail).`, {
      code: 'ABORTED',
      result,
      suggestion: 'See the threshold table above; the figures cover the run up to the abort.',
    });
  }
}

/** Ctrl-C (or SIGTERM): the summary was printed, the exit says the run did not finish (130). */
export class RunInterruptedError extends SentinelError {
  constructor(override readonly result: BenchResult) {
    super('Interrupted: the summary above covers the run up to Ctrl-C.', ExitCode.interrupted, {
      code: 'INTERRUPTED',
      result,
    });
  }
}

/** The error a finished run ends with, if any: abort (1), failed thresholds under --assert (1), Ctrl-C (130). */
export function runError(result: BenchResult, assert: boolean): SentinelError | undefined {
  if (result.stopReason === 'threshold') return new RunAbortedError(result);
  if (assert && !result.passed) return new ThresholdsFailedError(result);
  if (result.stopReason === 'interrupted') return new RunInterruptedError(result);
  return undefined;
}

/**
 * What `sentinel-ctl bench` does: resolve the plan (exit 2 on anything malformed, before any
 * traffic), run it with live progress, write the reports, and judge the thresholds.
 */
export async function executeBench(input: BenchInput, io: BenchIo, defaultApiUrl: () => string) {
  const outputs: OutputSpec[] = (input.out ?? []).map(parseOutput);
  const plan = await resolvePlan(input, defaultApiUrl);
  const mode = input.progress === 'auto' ? (io.json ? 'none' : io.isTTY ? 'tty' : 'plain') : input.progress;
  // ink and React load only for the live view: they are the slowest imports of the CLI.
  const view = mode === 'tty' ? (await import('./ui/index.js')).renderProgress() : undefined;
  let ticks = 0;
  const onProgress = (s: ProgressSnapshot) => {
    if (view) view.update(s);
    // Without a TTY, one line every 5 s keeps CI logs readable.
    else if (mode === 'plain' && ++ticks % 5 === 0) process.stderr.write(`${plainProgressLine(s)}\n`);
  };
  let report: BenchReport;
  try {
    const outcome = await runBench(plan, {
      onProgress,
      handleSignals: true,
      onNote: (m) => (view ? view.note(m) : io.note(m)),
    });
    report = buildReport(plan, outcome);
  } finally {
    view?.stop();
  }
  const written = writeOutputs(outputs, report);
  return { report, result: toResult(report), written, failedTable: thresholdTable(report) };
}
