import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import type { BenchInput } from '../../../src/bench/cli.js';
import {
  decodeReportData,
  encodeReport,
  forwardedArgs,
  podState,
  podSummary,
  runObjects,
  scenarioEnv,
  shardFromEnv,
} from '../../../src/bench/k8s.js';
import type { BenchReport } from '../../../src/bench/report/model.js';
import { ExitCode } from '../../../src/lib/errors.js';

const input = (o: Partial<BenchInput>): BenchInput => ({
  method: 'GET',
  workers: 1,
  timeout: '60s',
  prime: true,
  assert: false,
  progress: 'auto',
  ...o,
});

describe('bench --k8s', () => {
  test("the shards get the test's flags; --assert, --out, --progress and --shard stay with the coordinator", () => {
    expect(
      forwardedArgs(
        input({
          target: 'http://api:8080/health',
          rate: 500,
          duration: '1m',
          header: ['X-A: 1', 'X-B: 2'],
          threshold: ['http_req_duration:p(95)<100'],
          preset: ['sark'],
          prime: false,
          workers: 2,
          assert: true,
          out: ['json=run.json'],
          shard: '1/2',
          'start-at': '+10s',
        }),
      ),
    ).toEqual([
      'http://api:8080/health',
      '--header',
      'X-A: 1',
      '--header',
      'X-B: 2',
      '--rate',
      '500',
      '--duration',
      '1m',
      '--workers',
      '2',
      '--timeout',
      '60s',
      '--threshold',
      'http_req_duration:p(95)<100',
      '--preset',
      'sark',
      '--no-prime',
    ]);
  });

  test('JOB_COMPLETION_INDEX (0-based) selects shard index+1; missing or out of range is exit 3', () => {
    expect(shardFromEnv(3, { JOB_COMPLETION_INDEX: '0' })).toBe('1/3');
    expect(shardFromEnv(3, { JOB_COMPLETION_INDEX: '2' })).toBe('3/3');
    for (const bad of [undefined, '', '3', '-1', 'x']) {
      let code: number | undefined;
      try {
        shardFromEnv(3, bad === undefined ? {} : { JOB_COMPLETION_INDEX: bad });
      } catch (error) {
        code = (error as { exitCode: number }).exitCode;
      }
      expect(code, String(bad)).toBe(ExitCode.environment);
    }
  });

  test('a report round-trips through gzip; one over the limit is refused with its size', () => {
    const report = {
      format: 'sentinel-ctl-bench/2',
      shard: { index: 2, count: 4 },
      blob: randomBytes(4000).toString('hex'),
    } as unknown as BenchReport;
    const ok = encodeReport(report);
    expect(ok.error).toBeUndefined();
    expect(decodeReportData(ok.gz!.toString('base64'))).toEqual(report);
    // Random hex compresses to about half: 8000 characters → well over 1000 bytes.
    const big = encodeReport(report, 1000);
    expect(big.gz).toBeUndefined();
    expect(big.error).toMatch(/^the report of shard 2 is \d{4} bytes gzipped, over the 1000-byte limit/);
  });

  test("a pod's state: waiting reason, termination, unschedulable, else the phase", () => {
    const pod = (status: object) => ({ metadata: { name: 'p' }, status });
    expect(podState(pod({ containerStatuses: [{ state: { waiting: { reason: 'ErrImagePull' } } }] }))).toBe(
      'ErrImagePull',
    );
    expect(
      podState(pod({ containerStatuses: [{ state: { terminated: { reason: 'Error', exitCode: 3 } } }] })),
    ).toBe('Error exit 3');
    expect(
      podState(
        pod({
          phase: 'Pending',
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: '0/3 nodes: Insufficient cpu',
            },
          ],
        }),
      ),
    ).toBe('Unschedulable (0/3 nodes: Insufficient cpu)');
    expect(podState(pod({ phase: 'Running' }))).toBe('Running');
    const indexed = (i: number, phase: string) => ({
      metadata: { name: `p${i}`, labels: { 'batch.kubernetes.io/job-completion-index': String(i - 1) } },
      status: { phase },
    });
    expect(podSummary([indexed(3, 'Running'), indexed(1, 'Running'), indexed(2, 'Pending')])).toBe(
      'shards 1,3 Running; shard 2 Pending',
    );
  });

  test('the Role lets the shards create ConfigMaps and update only their own reports', () => {
    const objs = runObjects({
      runId: 'abc123',
      namespace: 'lt',
      shards: 3,
      image: 'img',
      args: ['bench'],
      env: [],
      activeDeadlineSeconds: 100,
    });
    expect(objs.map((o) => o.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding', 'Job']);
    const by = Object.fromEntries(objs.map((o) => [o.kind, o])) as Record<
      string,
      {
        rules?: unknown;
        subjects?: unknown;
        spec?: { completionMode: string; completions: number; parallelism: number };
      }
    >;
    expect(by.Role!.rules).toEqual([
      { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
      {
        apiGroups: [''],
        resources: ['configmaps'],
        verbs: ['update'],
        resourceNames: ['sentinel-bench-abc123-1', 'sentinel-bench-abc123-2', 'sentinel-bench-abc123-3'],
      },
    ]);
    expect(by.RoleBinding!.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'sentinel-bench-abc123', namespace: 'lt' },
    ]);
    const spec = by.Job!.spec!;
    expect([spec.completionMode, spec.completions, spec.parallelism]).toEqual(['Indexed', 3, 3]);
  });

  test("a scenario's env.NAME variables go into a Secret (first), not into the Job's spec", () => {
    const v = (name: string) => `\${${name}}`;
    const text = `headers:\n  Authorization: Bearer ${v('env.TOKEN')}\n  X-U: ${v(' env.USER_1 ')}\n  X-N: ${v('env.UNSET')}\n`;
    const secret = scenarioEnv(text, { TOKEN: 's3cret', USER_1: 'u' });
    expect(secret).toEqual({ TOKEN: 's3cret', USER_1: 'u' });
    expect(scenarioEnv('path: /x', {})).toBeUndefined();
    const objs = runObjects({
      runId: 'abc123',
      namespace: 'lt',
      shards: 1,
      image: 'img',
      args: ['bench'],
      env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'sentinel-bench-abc123', key: 'TOKEN' } } }],
      secret,
      activeDeadlineSeconds: 100,
    });
    expect(objs[0]).toMatchObject({ kind: 'Secret', stringData: { TOKEN: 's3cret', USER_1: 'u' } });
    expect(JSON.stringify(objs.at(-1))).not.toContain('s3cret');
  });
});
