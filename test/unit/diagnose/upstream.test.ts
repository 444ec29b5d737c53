import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ApiCollector,
  WorkerCollector,
  workerSampleFromText,
} from '../../../src/diagnose/collectors/worker.js';
import { evaluate } from '../../../src/diagnose/rules/index.js';
import { context, healthy, withFacts } from './fixtures.js';

/**
 * diagnose against upstream Sentinel's own services: the documents of test/fixtures/upstream
 * (written from the deployment guide and the stack contract) have none of our extra metrics.
 * Collectors must read what is there and say "unknown" for the rest; rules must not fire on, or
 * trip over, what is missing.
 */
const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/upstream');
const fixture = (f: string) => readFileSync(path.join(dir, f), 'utf8');

let server: http.Server;
let base: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    const file = { '/api/v1/health': 'api-health.json', '/metrics': 'worker-metrics.prom' }[req.url ?? ''];
    if (!file) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', file.endsWith('.json') ? 'application/json' : 'text/plain; version=0.0.4');
    res.end(fixture(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("upstream's worker metrics", () => {
  test('the worker collector reads the contract metrics and leaves our extras unknown', async () => {
    const c = new WorkerCollector(`${base}/metrics`);
    const cur = await c.sample(2000);
    const { facts, notes } = c.derive(undefined, cur);
    expect(facts).toMatchObject({
      executionsByStatus: { SUCCESS: 115, COMPILATION_ERROR: 2, TIMEOUT: 3 },
      workersActive: 4,
      poolSize: null,
      inProgress: null,
      sandboxFailures: 0,
      processCpuCores: null,
      residentMemoryBytes: 42_340_352,
    });
    expect(facts.duration).toMatchObject({ count: 120, over: 'lifetime' });
    expect(facts.duration.p50Ms).toBeGreaterThan(0);
    expect(Object.keys(facts.durationByLanguage).sort()).toEqual(['cpp', 'python']);
    expect(notes).toEqual(['one sample only: no rates']);
  });

  test('the API metrics document has no sentinel_ metric, and reading it as a worker finds nothing', () => {
    const s = workerSampleFromText(fixture('api-metrics.prom'), 0);
    expect(s).toMatchObject({
      executionsByStatus: {},
      workersActive: null,
      poolSize: null,
      inProgress: null,
    });
  });
});

describe("upstream's health document", () => {
  test('the API collector reads it as the guide writes it', async () => {
    const c = new ApiCollector(base);
    const { facts } = c.derive(undefined, await c.sample(2000));
    expect(facts).toMatchObject({
      status: 'ok',
      httpStatus: 200,
      services: { postgres: 'ok', rabbitmq: 'ok', redis: 'ok' },
    });
  });

  test('rules over an upstream stack: healthy, no finding needs the extras', async () => {
    const w = new WorkerCollector(`${base}/metrics`);
    const a = new ApiCollector(base);
    let facts = withFacts(healthy(), 'worker', w.derive(undefined, await w.sample(2000)).facts);
    facts = withFacts(facts, 'api', a.derive(undefined, await a.sample(2000)).facts);
    expect(evaluate(facts, context()).filter((f) => f.severity !== 'info')).toEqual([]);
  });
});
