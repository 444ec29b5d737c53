import { describe, expect, test } from 'vitest';
import { Engine, type EnginePlan, now, type ScenarioRunner } from '../../../src/bench/engine.js';
import { MetricStore } from '../../../src/bench/metrics.js';

/** A runner without network: each iteration records one request and waits for `gate`. */
function fakeRunner(gate: () => Promise<void>) {
  const calls = { setup: 0, iterate: 0, due: [] as Array<number | undefined> };
  const runner: ScenarioRunner = {
    async setup() {
      calls.setup += 1;
    },
    async iterate(_vu, ctx, dueAt) {
      calls.iterate += 1;
      calls.due.push(dueAt);
      await gate();
      ctx.store.recordRequest('fake', 'GET', 1, 0, undefined, ctx.second(now()));
    },
    thinkMs: () => 0,
    close: async () => {},
  };
  return { runner, calls };
}

const plan = (over: Partial<EnginePlan>): EnginePlan => ({
  model: 'open',
  startLevel: 20,
  stages: [{ durationMs: 500, target: 20 }],
  warmupMs: 0,
  preAllocatedVUs: 2,
  maxVUs: 2,
  gracefulStopMs: 5000,
  phase: 0,
  ...over,
});

describe('engine', () => {
  test('open model: arrivals that find no free VU are counted as dropped, not skipped', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((r) => {
      release = r;
    });
    const { runner, calls } = fakeRunner(() => blocked);
    const stores = { warmup: new MetricStore(), main: new MetricStore() };
    const engine = new Engine(plan({}), runner, stores);
    await engine.prepare();
    expect(calls.setup).toBe(2);
    const start = now();
    const done = engine.run(start);
    // 20/s for 0.5 s is 10 arrivals; the 2 VUs stay busy, so 8 are dropped.
    for (let i = 0; i < 500 && engine.status().phase !== 'stopping'; i++)
      await new Promise((r) => setTimeout(r, 20));
    release();
    expect(await done).toBe('duration');
    expect(calls.iterate).toBe(2);
    expect(stores.main.counter('dropped_iterations')).toBe(8);
    expect(stores.main.counter('iterations')).toBe(2);
    // Latency origin: the due times of arrivals 0 and 1 (0 and 50 ms after the start).
    expect(calls.due.map((d) => Math.round(d! - start))).toEqual([0, 50]);
  });

  test('closed model: exactly the requested iterations, warm-up kept apart', async () => {
    const { runner, calls } = fakeRunner(() => new Promise((r) => setImmediate(r)));
    const stores = { warmup: new MetricStore(), main: new MetricStore() };
    const engine = new Engine(
      plan({
        model: 'closed',
        startLevel: 3,
        stages: [{ durationMs: 60_000, target: 3 }],
        iterations: 50,
        warmupMs: 200,
      }),
      runner,
      stores,
    );
    expect(await engine.run(now())).toBe('iterations');
    expect(stores.main.counter('iterations')).toBe(50);
    expect(stores.main.requests.get('fake')!.count).toBe(50);
    expect(stores.warmup.counter('iterations')).toBe(calls.iterate - 50);
    expect(stores.warmup.counter('iterations')).toBeGreaterThan(0);
    // One setup per VU, never repeated.
    expect(calls.setup).toBe(3);
  });

  test('stop() lets in-flight iterations finish; kill() cuts them and discards their results', async () => {
    const { runner } = fakeRunner(() => new Promise(() => {}));
    const stores = { warmup: new MetricStore(), main: new MetricStore() };
    const engine = new Engine(
      plan({
        model: 'closed',
        startLevel: 2,
        stages: [{ durationMs: 60_000, target: 2 }],
        gracefulStopMs: 60_000,
      }),
      runner,
      stores,
    );
    const done = engine.run(now());
    for (let i = 0; i < 2000 && engine.status().inFlight < 2; i++) await new Promise((r) => setTimeout(r, 5));
    engine.stop('interrupted');
    expect(engine.status().phase).toBe('stopping');
    engine.kill();
    expect(await done).toBe('interrupted');
    expect(stores.main.counter('iterations')).toBe(0);
  });

  test('closed model: VUs set up and connections primed before the clock starts; busy VUs per second', async () => {
    const { runner, calls } = fakeRunner(() => new Promise((r) => setTimeout(r, 5)));
    let primed: [number, number] | undefined;
    runner.prime = async (connections, requests) => {
      primed = [connections, requests];
      return requests;
    };
    const stores = { warmup: new MetricStore(), main: new MetricStore() };
    const engine = new Engine(
      plan({
        model: 'closed',
        startLevel: 3,
        stages: [{ durationMs: 1500, target: 3 }],
        prime: { connections: 3, requests: 12 },
      }),
      runner,
      stores,
    );
    await engine.prepare();
    // Before run(): the start level's VUs exist and are set up, the connections primed, nothing measured.
    expect([calls.setup, calls.iterate, primed]).toEqual([3, 0, [3, 12]]);
    expect(engine.status().vusMax).toBe(3);
    expect(await engine.run(now())).toBe('duration');
    expect(calls.setup).toBe(3);
    expect(engine.selfStats().primed).toBe(12);
    // Seconds 0 and 1 each saw the 3 VUs busy.
    expect([...stores.main.series].map(([s, b]) => [s, b.vus])).toEqual([
      [0, 3],
      [1, 3],
    ]);
  });
});
