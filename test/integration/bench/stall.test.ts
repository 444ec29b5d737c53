import { afterAll, beforeAll, expect, test } from 'vitest';
import { runCli, startHttpServer, type TestServer } from './helpers/servers.js';

const RATE = 100; // arrivals per second
const DURATION_S = 10;
const STALL = { startMs: 3000, durationMs: 1000 };

let server: TestServer;
beforeAll(async () => {
  server = await startHttpServer({ stall: STALL });
});
afterAll(() => server.close());

/**
 * The truth from the schedule: arrival i is due at i / RATE s. The server answers at once,
 * except that a request arriving in [3 s, 4 s) is answered at 4 s. So arrivals in the window
 * wait 4 − t: 1.00, 0.99, ..., 0.01 s; every other request takes ~0. Latency counted from the
 * due time (the open model) must see those waits; percentile p is the value at rank ⌈p/100 · n⌉.
 */
function truthPercentile(p: number): number {
  const lat: number[] = [];
  for (let i = 0; i < RATE * DURATION_S; i++) {
    const t = (i / RATE) * 1000;
    const end = STALL.startMs + STALL.durationMs;
    lat.push(t >= STALL.startMs && t < end ? end - t : 0);
  }
  lat.sort((a, b) => a - b);
  return lat[Math.ceil((p / 100) * lat.length) - 1]!;
}

test('open model: a 1 s stall shows in p99 within 10 % of the truth (no coordinated omission)', async () => {
  // 1000 requests, 100 of them in the window: p99 is the 990th smallest = 900 ms.
  const truth = truthPercentile(99);
  expect(truth).toBe(900);
  const r = await runCli([
    'bench',
    server.url,
    '--rate',
    String(RATE),
    '-d',
    `${DURATION_S}s`,
    '--max-vus',
    '400',
  ]);
  expect(r.exitCode).toBe(0);
  const result = r.json.result as {
    requests: Array<{ name: string; requests: number; latency: { p99: number; p90: number; max: number } }>;
    metrics: Array<{ metric: string; count?: number }>;
  };
  const all = result.requests.at(-1)!;
  expect(all.requests).toBe(RATE * DURATION_S);
  expect(result.metrics.find((m) => m.metric === 'dropped_iterations')).toBeUndefined();
  const error = Math.abs(all.latency.p99 - truth) / truth;
  console.log(
    `stall test: truth p99 ${truth} ms, reported p99 ${all.latency.p99} ms (${(error * 100).toFixed(1)} % off), max ${all.latency.max} ms`,
  );
  expect(error).toBeLessThan(0.1);
  // p90 sits at the edge of the window's 10 % (truth: 10 ms); far below the stall.
  expect(all.latency.p90).toBeLessThan(200);
});
