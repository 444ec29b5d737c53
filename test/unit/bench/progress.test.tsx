import { render } from 'ink-testing-library';
import { describe, expect, test } from 'vitest';
import { plainProgressLine } from '../../../src/bench/progress.js';
import type { ProgressSnapshot } from '../../../src/bench/run.js';
import { BenchProgress } from '../../../src/bench/ui/BenchProgress.js';

const snap: ProgressSnapshot = {
  model: 'closed',
  phase: 'main',
  elapsedMs: 15_000,
  totalMs: 60_000,
  vus: 40,
  vusMax: 50,
  target: 50,
  requests: 123_456,
  rps: 20_512,
  p95: 3.1,
  failures: 12,
  dropped: 0,
};

describe('progress', () => {
  test('live view shows elapsed/total, VUs, RPS, p95 and errors', () => {
    const { lastFrame, rerender } = render(<BenchProgress notes={[]} />);
    expect(lastFrame()).toContain('preparing virtual users');
    rerender(<BenchProgress snapshot={snap} notes={['Stopping: letting in-flight requests finish']} />);
    const frame = lastFrame()!;
    expect(frame).toContain('Stopping: letting in-flight requests finish');
    expect(frame).toContain(`main    [${'█'.repeat(8)}${'░'.repeat(22)}] 15s/1m`);
    expect(frame).toContain('40/50 VUs · 20512 req/s · p95 3.10ms · 123456 requests · 12 failed (0.0097%)');
  });

  test('open model shows the rate and dropped arrivals', () => {
    const { lastFrame } = render(
      <BenchProgress snapshot={{ ...snap, model: 'open', target: 200, vus: 180, dropped: 7 }} notes={[]} />,
    );
    expect(lastFrame()).toContain('200/s (180 busy VUs)');
    expect(lastFrame()).toContain('7 dropped');
  });

  test('plain line for logs', () => {
    expect(plainProgressLine(snap)).toBe(
      '[bench] 15s/1m main 40/50 VUs 20512 req/s p95 3.10ms 123456 requests 12 failed',
    );
  });
});
