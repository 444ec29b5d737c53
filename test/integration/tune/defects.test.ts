/**
 * Regressions of the tune defects of issue 13, on the built binary: warnings shown in text,
 * the profile's pod when nothing describes one, the HPA warning of `tune pool`, citations of the
 * project's own rules, and the SARK / Jackdaw pool checks reachable from the CLI.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { TuneResult } from '../../../src/tune-command/types.js';
import { cli, cliJson, repoRoot } from '../../helpers/cli.js';

const manifests = path.join(repoRoot, 'test/fixtures/manifests/sentinel');
const work = mkdtempSync(path.join(os.tmpdir(), 'sentinel-tune-defects-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ');

describe('tune defects', () => {
  test("a recommendation's warning is shown in text, not only under --json", async () => {
    const r = await cli([
      'tune',
      'keda',
      '--manifests',
      manifests,
      '--profile',
      'prod',
      '--cpus',
      '4',
      '--memory',
      '8Gi',
    ]);
    expect(r.exitCode).toBe(0);
    expect(oneLine(r.stderr)).toMatch(
      /Warning: max_workers: 200 concurrent executions need 213 connections .*lower maxReplicaCount to 21/,
    );
  });

  test('no manifests, no --cpus/--memory, not in a pod: the profile pod, and it says so', async () => {
    const r = await cliJson<TuneResult>(['tune', 'pool', '--profile', 'prod']);
    expect(r.exitCode).toBe(0);
    const pool = r.json.result.rows.find((row) => row.setting === 'WORKER_POOL_SIZE');
    // The prod worker pod (4 cores, 2Gi): min(4, 2 / 0.5) = 4, whatever this machine has.
    expect(pool?.value).toBe(4);
    const cpu = r.json.result.facts.find((f) => f.name === 'worker.cpuMillicores');
    expect(cpu?.from).toBe('profile');
    expect(r.json.warnings.join(' ')).toMatch(/not inside a pod: sized for the prod profile's worker pod/);
  });

  test("tune pool --api-replicas below the HPA's maxReplicas warns, as tune check does", async () => {
    const out = path.join(work, 'k8s');
    expect((await cli(['generate', 'k8s', '--profile', 'prod', '--out', out])).exitCode).toBe(0);
    const r = await cliJson<TuneResult>(['tune', 'pool', '--manifests', out, '--api-replicas', '1']);
    expect(r.exitCode).toBe(0);
    expect(r.json.warnings.join(' ')).toMatch(/HorizontalPodAutoscaler can scale it to \d+ replicas/);
    const text = await cli(['tune', 'pool', '--manifests', out, '--api-replicas', '1']);
    expect(oneLine(text.stderr)).toMatch(/Warning: The API's HorizontalPodAutoscaler/);
  });

  test("the project's own rules cite docs/formulas.md, nothing cites a file outside the repository", async () => {
    const r = await cliJson<{ findings: Array<{ id: string; source: { guide: string; section: string } }> }>([
      'tune',
      'check',
      '--manifests',
      manifests,
      '--profile',
      'prod',
      '--p50-ms',
      '40',
      '--p99-ms',
      '2000000',
    ]);
    const byId = new Map(r.json.result.findings.map((f) => [f.id, f.source]));
    expect(byId.get('keda-trigger-protocol')).toEqual({
      guide: 'docs/formulas.md',
      section: 'KEDA trigger over the management API',
    });
    expect(byId.get('prefetch-vs-consumer-timeout')?.guide).toBe('docs/formulas.md');
    expect(byId.get('keda-cooldown-vs-message-time')?.guide).toBe('docs/formulas.md');
    expect(r.stdout).not.toMatch(/DESIGN\.md|\.\.\/shared/);
    const redis = await cliJson<TuneResult>(['tune', 'redis', '--keys', '1000000', '--bytes-per-key', '180']);
    const maxmemory = redis.json.result.rows.find((row) => row.setting === 'maxmemory');
    expect(maxmemory?.source).toEqual({
      guide: 'docs/formulas.md',
      section: 'Redis maxmemory at a 75 % target',
    });
  });

  test('asyncpg: 20 replicas over max_connections 10 fail the check (exit 1) instead of max_size 1 silently', async () => {
    const r = await cliJson<{ fits: boolean; settings: Array<{ setting: string; value: number }> }>([
      'tune',
      'app-pool',
      '--client',
      'asyncpg',
      '--replicas',
      '20',
      '--max-connections',
      '10',
    ]);
    expect(r.exitCode).toBe(1);
    expect(r.json.result.fits).toBe(false);
    expect(r.json.error?.message).toMatch(
      /20 replicas × max_size 1 = 20 connections exceed max_connections 10/,
    );
    const ok = await cliJson<{ settings: Array<{ setting: string; value: number }> }>([
      'tune',
      'app-pool',
      '--client',
      'asyncpg',
      '--replicas',
      '2',
      '--max-connections',
      '100',
    ]);
    expect(ok.exitCode).toBe(0);
    // The Jackdaw guide's own example: 100 connections, 2 replicas → 40.
    expect(ok.json.result.settings).toEqual([
      { setting: 'max_size', value: 40 },
      { setting: 'min_size', value: 5 },
    ]);
  });

  test('SQLAlchemy (SARK): pods × pool_size against max_connections', async () => {
    const over = await cliJson<{ fits: boolean }>([
      'tune',
      'app-pool',
      '--client',
      'sqlalchemy',
      '--replicas',
      '12',
      '--max-connections',
      '100',
    ]);
    expect(over.exitCode).toBe(1);
    expect(over.json.error?.message).toMatch(/12 pods × pool_size 10 = 120 is not below the 97 usable/);
    const fits = await cliJson<{ settings: Array<{ setting: string; value: number }> }>([
      'tune',
      'app-pool',
      '--client',
      'sqlalchemy',
      '--replicas',
      '2',
      '--max-connections',
      '100',
    ]);
    expect(fits.exitCode).toBe(0);
    expect(fits.json.result.settings[0]).toEqual({ setting: 'pool_size', value: 20 });
    // With overflow 2 × 30 = 60 fits 97: no warning.
    expect(fits.json.warnings).toEqual([]);
  });
});
