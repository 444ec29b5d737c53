/**
 * Windowed rules over a real Prometheus: `up` with `prometheus.enabled` starts Debian's
 * Prometheus as the sixth service, scraping the worker, the API and RabbitMQ with the deployment
 * guide's four alerts loaded; `diagnose` then takes its windows from PromQL. Once the worker has
 * started, its slots' source directories are replaced by files, so every job is a real sandbox
 * failure ("cannot prepare slot"). The same failures are also read from the rolling sample file
 * when Prometheus is not reachable.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { DiagnoseReport } from '../../../src/diagnose/types.js';
import { cliJson } from '../../helpers/cli.js';
import { diagnoseOnce, findingById } from '../../helpers/diagnose.js';
import { testOffset } from '../../helpers/ports.js';
import { startStack, type TestStack } from '../../helpers/stack.js';

const byId = findingById;
let stack: TestStack;
let promUrl: string;
// The worker makes its sandbox work directory under TMPDIR: a private one, so it is this stack's.
const tmp = mkdtempSync(path.join(os.tmpdir(), 'diag-prom-'));
chmodSync(tmp, 0o755);
const savedTmp = process.env.TMPDIR;

const diagnose = (...extra: string[]): Promise<DiagnoseReport> => diagnoseOnce(stack.args, ...extra);

async function promQuery(
  expr: string,
): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (
    (await res.json()) as {
      data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    }
  ).data.result;
}

describe('diagnose windows from a real Prometheus (the optional sixth service)', () => {
  beforeAll(async () => {
    process.env.TMPDIR = tmp;
    stack = await startStack({
      offset: testOffset('diagnosePrometheus'),
      yaml: [
        'prometheus:',
        '  enabled: true',
        '  scrapeIntervalSeconds: 2',
        'api:',
        '  rateLimit: 100000',
        '',
      ].join('\n'),
    });
    promUrl = `http://127.0.0.1:${stack.config.ports.prometheus}`;
  });

  afterAll(async () => {
    await stack?.stop();
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    rmSync(tmp, { recursive: true, force: true });
  });

  test('up starts six services; Prometheus has the guide’s four alerts and scrapes the stack', async () => {
    const s = await cliJson<{ services: Array<{ name: string; state: string }> }>(['status', ...stack.args]);
    expect(s.json.result.services.map((x) => x.name)).toEqual([
      'postgres',
      'rabbitmq',
      'redis',
      'worker',
      'api',
      'prometheus',
    ]);
    expect(s.json.result.services.every((x) => x.state === 'running')).toBe(true);
    const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
      data: {
        groups: Array<{ rules: Array<{ name: string; duration: number; labels: { severity: string } }> }>;
      };
    };
    expect(rules.data.groups[0]!.rules.map((r) => [r.name, r.duration, r.labels.severity])).toEqual([
      ['SentinelQueueBacklog', 300, 'warning'],
      ['SentinelWorkerDown', 180, 'critical'],
      ['SentinelHighErrorRate', 300, 'warning'],
      ['SentinelSandboxFailures', 0, 'critical'],
    ]);
    await vi.waitFor(
      async () => {
        const up = await promQuery('up');
        expect(up.map((u) => `${u.metric.job}=${u.value[1]}`).sort()).toEqual([
          'rabbitmq=1',
          'sentinel-api=1',
          'sentinel-worker=1',
        ]);
        expect(await promQuery('rabbitmq_detailed_queue_messages{queue="execution_tasks"}')).toHaveLength(1);
      },
      { timeout: 30_000, interval: 1000 },
    );
  });

  test('60 real sandbox failures → critical from PromQL increase(...[5m]); error rate pending with Prometheus’ short history', async () => {
    // A baseline run for the sample file (used by the next test), before any failure.
    const before = await diagnose('--prometheus', 'http://127.0.0.1:1');
    expect(byId(before, 'sandbox-failures')).toBeUndefined();
    // Break the sandbox under the running worker: a slot whose src/ is a file cannot be prepared.
    const roots = readdirSync(tmp).filter((d) => d.startsWith('sentinel-sandbox-'));
    expect(roots).toHaveLength(1);
    const slots = readdirSync(path.join(tmp, roots[0]!)).filter((d) => d.startsWith('slot-'));
    expect(slots.length).toBeGreaterThan(0);
    for (const slot of slots) {
      const src = path.join(tmp, roots[0]!, slot, 'src');
      rmSync(src, { recursive: true, force: true });
      writeFileSync(src, 'not a directory\n');
    }
    for (let i = 0; i < 60; i++) {
      const res = await fetch(`${stack.urls.apiUrl}/api/v1/submissions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ language: 'python', source_code: `print(${i})` }),
      });
      expect(res.status).toBe(202);
    }
    await vi.waitFor(
      async () => {
        const r = await promQuery('sum(sentinel_sandbox_failures_total)');
        expect(Number(r[0]?.value[1])).toBe(60);
      },
      { timeout: 90_000, interval: 1000 },
    );
    const r = await diagnose();
    expect(r.windows.source).toBe('prometheus');
    expect(r.windows.historySeconds).toBeGreaterThan(0);
    const f = byId(r, 'sandbox-failures');
    expect(f, JSON.stringify(r.findings.map((x) => x.id))).toMatchObject({
      severity: 'critical',
      evidence: { windowSource: 'prometheus' },
    });
    // increase() extrapolates to the window's edges: about 60, never fewer than the 51 that fire.
    expect(Number(f?.evidence.failures)).toBeGreaterThan(50);
    const e = byId(r, 'high-error-rate');
    expect(e).toMatchObject({ evidence: { windowSource: 'prometheus' } });
    // Less than 5 minutes of history: the alert is pending, as Prometheus' own rule would be.
    expect(e?.severity).toBe(r.windows.historySeconds >= 285 ? 'warning' : 'info');
    expect(String(e?.evidence.breakdown)).toMatch(/INTERNAL_ERROR/);
  });

  test('Prometheus not answering: the note says so and the sample file gives the same critical', async () => {
    const r = await diagnose('--prometheus', 'http://127.0.0.1:1');
    expect(r.windows.source).toBe('sample-file');
    expect(r.windows.note).toMatch(/Prometheus http:\/\/127\.0\.0\.1:1 did not answer/);
    expect(byId(r, 'sandbox-failures')).toMatchObject({
      severity: 'critical',
      evidence: { windowSource: 'sample-file', failures: 60 },
    });
  });
});
