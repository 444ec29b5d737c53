import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { secs } from '../../../src/diagnose/rules/format.js';
import {
  HistoryFile,
  type HistorySample,
  historyFile,
  windowsFromHistory,
} from '../../../src/diagnose/windows/history.js';
import { alertRulesFile, guideAlerts } from '../../../src/diagnose/windows/promql.js';

const T0 = Date.parse('2026-01-01T12:00:00Z');
const sample = (secondsAgo: number, over: Partial<HistorySample> = {}): HistorySample => ({
  at: T0 - secondsAgo * 1000,
  queue: 0,
  workersActive: 4,
  executions: { SUCCESS: 0 },
  sandbox: 0,
  buckets: null,
  cpu: null,
  ...over,
});

describe('windows from the rolling sample file', () => {
  test('a backlog above 1000 in every cron sample for 6 minutes has held 6 minutes', () => {
    const samples = [360, 300, 240, 180, 120, 60, 0].map((s) => sample(s, { queue: 1100 }));
    const w = windowsFromHistory(samples, T0);
    expect(w.source).toBe('sample-file');
    expect(w.backlog).toEqual({ heldSeconds: 360, historySeconds: 360, source: 'sample-file' });
  });

  test('a dip under the threshold or a gap over 150 s breaks the run', () => {
    const dip = [300, 240, 180, 120, 60, 0].map((s) => sample(s, { queue: s === 180 ? 900 : 1100 }));
    expect(windowsFromHistory(dip, T0).backlog?.heldSeconds).toBe(120);
    const gap = [300, 0].map((s) => sample(s, { queue: 1100 }));
    expect(windowsFromHistory(gap, T0).backlog?.heldSeconds).toBe(0);
  });

  test('counters over 5 minutes: from the sample nearest 5 m ago, across a worker restart', () => {
    const samples = [
      sample(400, { executions: { SUCCESS: 0, RUNTIME_ERROR: 0 }, sandbox: 0 }),
      sample(300, { executions: { SUCCESS: 100, RUNTIME_ERROR: 10 }, sandbox: 5 }),
      sample(150, { executions: { SUCCESS: 150, RUNTIME_ERROR: 30 }, sandbox: 30 }),
      // The worker restarted: its counters start again from zero.
      sample(0, { executions: { SUCCESS: 20, RUNTIME_ERROR: 10 }, sandbox: 30 }),
    ];
    const w = windowsFromHistory(samples, T0);
    expect(w.executions).toEqual({
      byStatus: { SUCCESS: 70, RUNTIME_ERROR: 30 },
      seconds: 300,
      source: 'sample-file',
    });
    expect(w.sandboxFailures).toEqual({ count: 25, seconds: 300, source: 'sample-file' });
  });

  test('worker down and unreachable runs', () => {
    const down = [200, 100, 0].map((s) => sample(s, { workersActive: 0 }));
    expect(windowsFromHistory(down, T0).workerDown?.heldSeconds).toBe(200);
    const gone = [100, 50, 0].map((s) => sample(s, { workersActive: null, executions: null, sandbox: null }));
    const w = windowsFromHistory(gone, T0);
    expect(w.workerUnreachable?.heldSeconds).toBe(100);
    expect(w.workerDown).toBeNull();
  });

  test('CPU over the last minute with the previous evaluation’s state (hysteresis)', () => {
    const samples = [
      sample(60, { cpu: { used: 0, total: 0 } }),
      sample(30, { cpu: { used: 50, total: 60 }, cpuHigh: true }),
      sample(0, { cpu: { used: 102, total: 120 } }),
    ];
    expect(windowsFromHistory(samples, T0).cpu).toEqual({
      usage: 0.85,
      seconds: 60,
      source: 'sample-file',
      wasHigh: true,
    });
  });

  test('one sample is "this run": no windows to speak of', () => {
    const w = windowsFromHistory([sample(0, { queue: 2000 })], T0);
    expect(w.source).toBe('this run');
    expect(w.backlog?.heldSeconds).toBe(0);
    expect(w.executions).toBeNull();
  });

  test('the file keeps 7 minutes, one per set of targets, and survives a reload', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'diag-hist-'));
    try {
      const file = historyFile(dir, 'targets-a');
      expect(file).not.toBe(historyFile(dir, 'targets-b'));
      const h = new HistoryFile(file, 'targets-a');
      for (const s of [500, 400, 100, 0]) expect(h.append(sample(s))).toBeUndefined();
      expect(h.all.map((s) => (T0 - s.at) / 1000)).toEqual([400, 100, 0]);
      const again = new HistoryFile(file, 'targets-a');
      expect(again.all).toHaveLength(3);
      expect(new HistoryFile(file, 'targets-b').all).toHaveLength(0);
      expect(JSON.parse(readFileSync(file, 'utf8')).version).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the alerts Prometheus loads are the guide’s four', () => {
  test('names, durations and severities of deployment guide "Monitoring Stack > Alerting"', () => {
    expect(guideAlerts.map((a) => [a.alert, a.for ?? null, a.severity])).toEqual([
      ['SentinelQueueBacklog', '5m', 'warning'],
      ['SentinelWorkerDown', '3m', 'critical'],
      ['SentinelHighErrorRate', '5m', 'warning'],
      ['SentinelSandboxFailures', null, 'critical'],
    ]);
    expect(JSON.parse(alertRulesFile()).groups[0].rules[3].expr).toBe(
      'sum(increase(sentinel_sandbox_failures_total[5m])) > 50',
    );
  });
});

describe('durations', () => {
  test.each([
    [119.7, '2 m 0 s'],
    [59.96, '1 m 0 s'],
    [3599.6, '1 h 0 m'],
    [75, '1 m 15 s'],
    [12.34, '12.3 s'],
  ])('%s s → %s', (s, text) => {
    expect(secs(s)).toBe(text);
  });
});
