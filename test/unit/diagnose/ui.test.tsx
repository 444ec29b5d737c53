import { render } from 'ink-testing-library';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { countBySeverity, evaluate } from '../../../src/diagnose/rules/index.js';
import type { Series } from '../../../src/diagnose/session.js';
import type { DiagnoseReport, Facts } from '../../../src/diagnose/types.js';
import { DiagnoseApp, type DiagnoseSource } from '../../../src/diagnose/ui/DiagnoseApp.js';
import { context, down, healthy, postgres, queue, rabbit, redis, withFacts } from './fixtures.js';

const KEY = { up: '\u001B[A', down: '\u001B[B', tab: '\t', enter: '\r', esc: '\u001B' };

function report(facts: Facts): DiagnoseReport {
  const findings = evaluate(facts, context());
  const counts = countBySeverity(findings);
  return {
    at: '2026-01-01T12:00:00.000Z',
    windowSeconds: 2,
    windows: { source: 'sample-file', historySeconds: 120 },
    healthy: counts.critical === 0,
    counts,
    findings,
    facts,
    timings: { postgres: 1, rabbitmq: 1, redis: 1, worker: 1, api: 1, host: 1, total: 6 },
    targets: { postgres: 'pg', rabbitmq: 'mq', redis: 'rd', worker: 'wk', api: 'api', host: 'host' },
  };
}

/** A stack with a backlog nobody consumes, Redis evicting, and the worker down. */
const troubled = () =>
  report(
    down(
      withFacts(
        withFacts(
          healthy(),
          'rabbitmq',
          rabbit({ queues: [queue({ messages: 1500, ready: 1500, consumers: 0 })] }),
        ),
        'redis',
        redis({ evictedInWindow: 12, evictedKeys: 40 }),
      ),
      'worker',
    ),
  );

/** Canned reports, and a scheduler the test fires by hand (no timers, no sleeping). */
function harness(
  reports: DiagnoseReport[],
  size: { columns: number; rows: number } = { columns: 80, rows: 24 },
) {
  let ticks = 0;
  const series: Series = {
    queueDepth: [0, 500, 1500],
    publishRate: [0, 2, 1],
    deliverRate: [0, 0, 0],
    pgConnections: [2, 2, 3],
    redisOps: [1, 1, 1],
    cpu: [10, 20, 15],
  };
  const source: DiagnoseSource = {
    series,
    tick: async () => reports[Math.min(ticks++, reports.length - 1)]!,
  };
  const pending: Array<() => void> = [];
  const schedule = (run: () => void) => {
    pending.push(run);
    return () => {
      const i = pending.indexOf(run);
      if (i >= 0) pending.splice(i, 1);
    };
  };
  const onExit = vi.fn();
  const app = render(
    <DiagnoseApp
      source={source}
      intervalMs={2000}
      taskQueue="execution_tasks"
      onExit={onExit}
      columns={size.columns}
      rows={size.rows}
      schedule={schedule}
    />,
  );
  const fire = () => {
    for (const run of pending.splice(0)) run();
  };
  const frame = () => app.lastFrame() ?? '';
  const until = (check: (f: string) => boolean) =>
    vi.waitFor(() => expect(check(frame()), frame()).toBe(true));
  return { app, fire, frame, until, pending, onExit, ticks: () => ticks };
}

afterEach(() => vi.restoreAllMocks());

describe('the diagnose UI', () => {
  test('overview: one line per component, the sparklines and the ranked findings, within 80×24', async () => {
    const h = harness([troubled()]);
    h.fire();
    await h.until((f) => f.includes(' crit'));
    const lines = h.frame().split('\n');
    expect(lines.length).toBeLessThanOrEqual(24);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(h.frame()).toContain('1 crit'.replace('1', String(troubled().counts.critical)));
    expect(h.frame()).toMatch(/worker\s+DOWN/);
    expect(h.frame()).toMatch(/rabbitmq\s+CRIT execution_tasks 1,500/);
    expect(h.frame()).toContain('queue ▁▃█');
    // Ranked: critical first (rabbitmq before worker on the request path), warnings after.
    const order = ['queue-no-consumers', 'worker-unreachable', 'redis-evictions'].map((id) =>
      lines.findIndex((l) =>
        l.includes(
          troubled()
            .findings.find((f) => f.id === id)!
            .title.slice(0, 30),
        ),
      ),
    );
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    h.app.unmount();
  });

  test('arrows move, enter opens a finding with its evidence, esc goes back', async () => {
    const h = harness([troubled()]);
    h.fire();
    await h.until((f) => f.includes(' crit'));
    expect(h.frame()).toMatch(/▸CRIT rabbitmq/);
    h.app.stdin.write(KEY.down);
    await h.until((f) => /▸CRIT worker/.test(f));
    h.app.stdin.write(KEY.up);
    await h.until((f) => /▸CRIT rabbitmq/.test(f));
    h.app.stdin.write(KEY.enter);
    await h.until((f) => f.includes('Evidence'));
    expect(h.frame()).toContain('queue-no-consumers');
    expect(h.frame()).toMatch(/ready 1500/);
    expect(h.frame()).toContain('Run sentinel-ctl status');
    expect(h.frame()).toContain('Troubleshooting > Jobs Stuck in QUEUED');
    h.app.stdin.write(KEY.esc);
    await h.until((f) => f.includes('COMPONENTS') && !f.includes('Evidence'));
    h.app.unmount();
  });

  test('tab switches to the components, enter shows one component', async () => {
    const h = harness([troubled()]);
    h.fire();
    await h.until((f) => f.includes(' crit'));
    h.app.stdin.write(KEY.tab);
    await h.until((f) => /▸postgres/.test(f));
    h.app.stdin.write(KEY.down);
    h.app.stdin.write(KEY.down);
    // Two keys in a row, before any re-render: both count.
    await h.until((f) => /▸redis/.test(f));
    h.app.stdin.write(KEY.enter);
    await h.until((f) => f.includes('Findings (1)'));
    expect(h.frame()).toContain('Redis 7.0.15');
    expect(h.frame()).toContain('evicted 12 in window, 40 total');
    h.app.unmount();
  });

  test('space pauses: no refresh is armed until it is pressed again', async () => {
    const h = harness([troubled(), report(healthy())]);
    h.fire();
    await h.until((f) => f.includes(' crit'));
    await h.until(() => h.pending.length === 1);
    h.app.stdin.write(' ');
    // The armed refresh is cancelled by the effect that runs after the [PAUSED] frame renders.
    await h.until((f) => f.includes('[PAUSED]') && h.pending.length === 0);
    expect(h.ticks()).toBe(1);
    h.app.stdin.write(' ');
    await h.until((f) => !f.includes('[PAUSED]'));
    await h.until(() => h.pending.length === 1);
    h.fire();
    await h.until((f) => f.includes('none: healthy'));
    expect(h.ticks()).toBe(2);
    h.app.unmount();
  });

  test('+ and - change the refresh interval; s sorts the findings by component, then rule id', async () => {
    const h = harness([troubled()]);
    h.fire();
    await h.until((f) => f.includes(' crit'));
    h.app.stdin.write('+');
    await h.until((f) => f.includes('every 5s'));
    h.app.stdin.write('-');
    h.app.stdin.write('-');
    await h.until((f) => f.includes('every 1s'));
    h.app.stdin.write('s');
    await h.until((f) => f.includes('by component'));
    const lines = h.frame().split('\n');
    const components = lines
      .filter((l) => /^\s*▸?\s*(CRIT|WARN|INFO) /.test(l.replace('▸', ' ')))
      .map((l) => l.replace('▸', ' ').trim().split(/\s+/)[1]);
    expect(components.length).toBeGreaterThan(1);
    expect(components).toEqual([...components].sort());
    h.app.unmount();
  });

  test('? shows the help and goes back', async () => {
    const h = harness([troubled()]);
    h.fire();
    await h.until((f) => f.includes(' crit'));
    h.app.stdin.write('?');
    await h.until((f) => f.includes('Keys'));
    expect(h.frame()).toContain('pause / resume refreshing');
    h.app.stdin.write('?');
    await h.until((f) => f.includes('COMPONENTS') && !f.includes('Keys'));
    h.app.unmount();
  });

  test('/ filters findings and components; esc clears', async () => {
    const h = harness([troubled()]);
    h.fire();
    await h.until((f) => f.includes(' crit'));
    // Typed in one read, as a paste or tmux send-keys delivers it: still taken key by key.
    h.app.stdin.write('/redis');
    await h.until((f) => f.includes('/redis▏') && f.includes('type to filter'));
    h.app.stdin.write(KEY.enter);
    await h.until((f) => f.includes('FINDINGS 1') && !f.includes('type to filter'));
    expect(h.frame()).toContain('/redis');
    expect(h.frame()).toContain('Redis evicted 12 keys');
    expect(h.frame()).not.toContain('execution_tasks: 1,500 jobs');
    expect(h.frame()).not.toMatch(/postgres\s+ok/);
    h.app.stdin.write(KEY.esc);
    await h.until((f) => !f.includes('/redis'));
    expect(h.frame()).toContain(`FINDINGS ${troubled().findings.length}`);
    h.app.unmount();
  });

  test('q quits with the last report', async () => {
    const h = harness([troubled()]);
    h.fire();
    await h.until((f) => f.includes(' crit'));
    h.app.stdin.write('q');
    await vi.waitFor(() => expect(h.onExit).toHaveBeenCalledTimes(1));
    expect(h.onExit.mock.calls[0]![0].healthy).toBe(false);
  });

  test('a PostgreSQL query is shown whole in the details (wrapped), not cut at 30 characters', async () => {
    const query =
      "SELECT j.id, j.status, j.language FROM execution_jobs j WHERE j.status = 'QUEUED' ORDER BY j.created_at LIMIT 100";
    const slow = report(
      withFacts(
        healthy(),
        'postgres',
        postgres({
          longRunning: [
            {
              pid: 4242,
              user: 'sentinel',
              application: 'api',
              state: 'active',
              seconds: 30,
              waitEvent: null,
              query,
            },
          ],
        }),
      ),
    );
    const h = harness([slow]);
    h.fire();
    await h.until((f) => /▸WARN postgres/.test(f));
    h.app.stdin.write(KEY.enter);
    await h.until((f) => f.includes('Evidence'));
    // The wrapped lines, joined, hold the whole query.
    const joined = h
      .frame()
      .split('\n')
      .map((l) => l.trim())
      .join(' ');
    expect(joined).toContain(query);
    expect(
      h
        .frame()
        .split('\n')
        .every((l) => [...l].length <= 80),
    ).toBe(true);
    h.app.unmount();
  });

  test('the whole terminal: 200×50 draws 49 lines (one kept for the cursor), the footer uncut', async () => {
    const small = harness([troubled()]);
    small.fire();
    await small.until((f) => f.includes(' crit'));
    const big = harness([troubled()], { columns: 200, rows: 50 });
    big.fire();
    await big.until((f) => f.includes(' crit'));
    const lines = big.frame().split('\n');
    expect(lines).toHaveLength(49);
    expect(small.frame().split('\n')).toHaveLength(23);
    // The footer's last key is there at 200 columns, cut (…) at 80.
    expect(lines.at(-1)).toContain('q quit');
    expect(small.frame().split('\n').at(-1)).toMatch(/…$/);
    small.app.unmount();
    big.app.unmount();
  });
});
