import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CheckFailedError, UserError } from '../lib/errors.js';
import { parseDuration } from './duration.js';
import { type PresetName, presetThresholds } from './presets.js';
import { plainProgressLine } from './progress.js';
import { type BenchReport, type BenchResult, buildReport, toResult } from './report/model.js';
import { thresholdTable } from './report/summary.js';
import { type OutputSpec, parseOutput, writeOutputs } from './report/write.js';
import { type BenchPlan, type LoadSettings, type ProgressSnapshot, peakVUs, runBench } from './run.js';
import {
  builtinSentinelScenario,
  type LoadedScenario,
  loadScenarioFile,
  scenarioNames,
  urlScenario,
} from './scenario.js';
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

/** Finds the scenario: a URL, the built-in `sentinel`, a shipped name (`jackdaw`), or a file. */
export function resolveScenario(input: BenchInput, defaultApiUrl: () => string): LoadedScenario {
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
  if (name === 'sentinel' && !existsSync(name))
    return builtinSentinelScenario(input['base-url'] ?? defaultApiUrl());
  const shipped = `${scenariosDir}${name}.yaml`;
  const file = !existsSync(name) && /^[a-z0-9-]+$/.test(name) && existsSync(shipped) ? shipped : name;
  return loadScenarioFile(file, input['base-url']);
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
    timeoutMs: duration(input.timeout, '--timeout'),
    workers: input.workers,
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

export function resolvePlan(input: BenchInput, defaultApiUrl: () => string): BenchPlan {
  const scenario = resolveScenario(input, defaultApiUrl);
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

/**
 * What `sentinel-ctl bench` does: resolve the plan (exit 2 on anything malformed, before any
 * traffic), run it with live progress, write the reports, and judge the thresholds.
 */
export async function executeBench(input: BenchInput, io: BenchIo, defaultApiUrl: () => string) {
  const outputs: OutputSpec[] = (input.out ?? []).map(parseOutput);
  const plan = resolvePlan(input, defaultApiUrl);
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
