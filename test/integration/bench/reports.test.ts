import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { countColor, readPng } from './helpers/png.js';
import { runCli, startHttpServer, type TestServer } from './helpers/servers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'bench-reports-'));
const out = (f: string) => path.join(dir, f);
const root = new URL('../../../', import.meta.url).pathname;

let fast: TestServer;
let slow: TestServer;
beforeAll(async () => {
  fast = await startHttpServer({ latencyMs: 1 });
  slow = await startHttpServer({ latencyMs: 200, failEvery: 20 });
});
afterAll(async () => {
  await fast.close();
  await slow.close();
});

describe('reports', () => {
  test('a run writes JSON, CSV, JUnit and HTML; the JSON round-trips through compare', async () => {
    const a = await runCli([
      'bench',
      fast.url,
      '-c',
      '4',
      '-d',
      '3s',
      '-t',
      'http_req_failed:rate<0.01',
      '--out',
      `json=${out('a.json')}`,
      '--out',
      `csv=${out('a.csv')}`,
      '--out',
      `junit=${out('a.xml')}`,
      '--out',
      `html=${out('a.html')}`,
    ]);
    expect(a.exitCode).toBe(0);
    for (const f of ['a.json', 'a.csv', 'a.xml', 'a.html']) expect(existsSync(out(f))).toBe(true);
    const report = JSON.parse(readFileSync(out('a.json'), 'utf8'));
    expect(report.format).toBe('sentinel-ctl-bench/2');
    expect(report.requests).toEqual(a.json.result!.requests);
    expect(readFileSync(out('a.xml'), 'utf8')).toContain('tests="1" failures="0"');
    expect(readFileSync(out('a.csv'), 'utf8').split('\n')[2]).toMatch(/^,Aggregated,\d+,0,/);

    const same = await runCli(['bench', 'compare', out('a.json'), out('a.json')]);
    expect(same.exitCode).toBe(0);
    const rows = (
      same.json.result as { rows: Array<{ old: number | null; new: number | null; regression: boolean }> }
    ).rows;
    // Single-URL mode: one row set (GET /), not a second identical "all requests" set.
    expect(rows.length).toBe(5);
    const history = readFileSync(out('a_history.csv'), 'utf8').trim().split('\n');
    expect(history[0]).toMatch(/^Second,Timestamp,VUs,Requests,Failures,Failures status,/);
    // One row per measured second, with the 4 VUs busy and the second's requests.
    expect(history.length - 1).toBe(report.series.length);
    for (const [i, line] of history.slice(1).entries()) {
      const cells = line.split(',');
      expect(Number(cells[0])).toBe(i);
      expect(Number(cells[2])).toBe(report.series[i].vus);
      expect(Number(cells[3])).toBe(report.series[i].requests);
    }
    expect(report.series.every((p: { vus: number }) => p.vus === 4)).toBe(true);
    for (const row of rows) expect(row.new).toBe(row.old);

    // A run of another target is not comparable: exit 2.
    const c = await runCli([
      'bench',
      slow.url,
      '-c',
      '1',
      '--iterations',
      '5',
      '--out',
      `json=${out('c.json')}`,
    ]);
    expect(c.exitCode).toBe(0);
    const foreign = await runCli(['bench', 'compare', out('a.json'), out('c.json')]);
    expect(foreign.exitCode).toBe(2);
    expect(foreign.json.error!.message).toMatch(/different tests/);

    // The same target, now 200 ms per response and every 20th a 500: 3 of 60 failed.
    fast.set({ latencyMs: 200, failEvery: 20 });
    const b = await runCli([
      'bench',
      fast.url,
      '-c',
      '4',
      '--iterations',
      '60',
      '-t',
      'http_req_failed:rate<0.01',
      '--out',
      `json=${out('b.json')}`,
    ]);
    fast.set({ latencyMs: 1, failEvery: undefined });
    expect(b.exitCode).toBe(0);
    const worse = await runCli(['bench', 'compare', out('a.json'), out('b.json'), '--tolerance', '10']);
    expect(worse.exitCode).toBe(1);
    expect(worse.json.error).toMatchObject({ code: 'REGRESSION', exitCode: 1 });
    const flagged = (
      worse.json.result as {
        rows: Array<{ name: string; figure: string; regression: boolean }>;
        newlyFailing: string[];
      }
    ).rows
      .filter((r) => r.regression)
      .map((r) => `${r.name} ${r.figure}`);
    expect(flagged).toEqual(expect.arrayContaining(['GET / p95', 'GET / failure rate', 'GET / rps']));
    expect((worse.json.result as { newlyFailing: string[] }).newlyFailing[0]).toBe(
      'http_req_failed: rate<0.01 (now 5%)',
    );
    // Shards merge: the same run twice is twice the requests and the same percentiles.
    const merged = await runCli(['bench', 'compare', out('a.json'), `${out('a.json')},${out('a.json')}`]);
    expect(merged.exitCode).toBe(0);
  });

  test('the HTML report renders in headless Chromium with its charts visible', async () => {
    const png = out('a.png');
    await execa(path.join(root, 'bench/loadgen/screenshot-report.sh'), [out('a.html'), png, '1000', '1600']);
    const img = readPng(png);
    expect([img.width, img.height]).toEqual([1000, 1600]);
    // Each chart draws in its own colours: p50 green and p99 red (latency), blue (throughput,
    // and p90). A blank or broken page has none of them.
    expect(countColor(img, '#2ca02c')).toBeGreaterThan(300);
    expect(countColor(img, '#d62728')).toBeGreaterThan(300);
    expect(countColor(img, '#1f77b4')).toBeGreaterThan(600);
    // The PASSED badge (green text on light green).
    expect(countColor(img, '#dff3e1', 6)).toBeGreaterThan(500);
  });
});

test('--workers 2 spreads the iterations and merges the histograms exactly', async () => {
  const r = await runCli(['bench', fast.url, '-c', '6', '--iterations', '600', '--workers', '2']);
  expect(r.exitCode).toBe(0);
  const result = r.json.result as {
    requests: Array<{ name: string; requests: number; latency: { count: number } }>;
    load: { workers: number };
  };
  expect(result.load.workers).toBe(2);
  expect(result.requests.at(-1)).toMatchObject({ requests: 600, latency: { count: 600 } });
});

test('SIGINT stops cleanly, still prints the summary of what ran, and exits 130', async () => {
  const bin = path.join(root, 'bin/run.js');
  const start = fast.count();
  const child = execa('node', [bin, 'bench', fast.url, '-c', '4', '-d', '60s', '--json'], {
    reject: false,
    stdin: 'ignore',
  });
  // Wait (bounded) until the run is under way, then interrupt it like Ctrl-C.
  for (let i = 0; i < 300 && fast.count() - start < 200; i++) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGINT');
  const r = await child;
  expect(r.exitCode).toBe(130);
  const envelope = JSON.parse(String(r.stdout));
  expect(envelope.error).toMatchObject({ code: 'INTERRUPTED', exitCode: 130 });
  const result = envelope.result as {
    stopReason: string;
    measuredMs: number;
    requests: Array<{ requests: number }>;
  };
  expect(result.stopReason).toBe('interrupted');
  expect(result.measuredMs).toBeLessThan(60_000);
  expect(result.requests.at(-1)!.requests).toBeGreaterThanOrEqual(200);
});
