import { describe, expect, test } from 'vitest';
import { workerPoolSize, workerResources } from '../../../src/tuners/worker-pool.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

describe('workerPoolSize = min(CPU_CORES, RAM_GB / 0.5)', () => {
  test.each<[number, number, number, string]>([
    // The guide's table (sentinel-tuning-guide.md "Worker Service > Worker Pool Sizing").
    [2000, 4 * GiB, 2, 'min(2 cores, 4 GiB / 0.5) = 2 (CPU bounds it)'],
    [4000, 8 * GiB, 4, 'min(4 cores, 8 GiB / 0.5) = 4 (CPU bounds it)'],
    [8000, 16 * GiB, 8, 'min(8 cores, 16 GiB / 0.5) = 8 (CPU bounds it)'],
    // Memory bounds it.
    [8000, 2 * GiB, 4, 'min(8 cores, 2 GiB / 0.5) = 4 (memory bounds it)'],
    [4000, 1 * GiB, 2, 'min(4 cores, 1 GiB / 0.5) = 2 (memory bounds it)'],
    // Equal bounds.
    [4000, 2 * GiB, 4, 'min(4 cores, 2 GiB / 0.5) = 4 (CPU and memory agree)'],
    // Fractions round down.
    [1500, 8 * GiB, 1, 'floor(min(1.5 cores, 8 GiB / 0.5)) = 1 (CPU bounds it)'],
    [3500, 8 * GiB, 3, 'floor(min(3.5 cores, 8 GiB / 0.5)) = 3 (CPU bounds it)'],
    [8000, 1.75 * GiB, 3, 'floor(min(8 cores, 1.75 GiB / 0.5)) = 3 (memory bounds it)'],
    // A pod smaller than one sandbox still gets one worker.
    [500, 4 * GiB, 1, 'max(1, floor(min(0.5 cores, 4 GiB / 0.5))) = 1 (CPU bounds it)'],
    [4000, 256 * MiB, 1, 'max(1, floor(min(4 cores, 0.25 GiB / 0.5))) = 1 (memory bounds it)'],
    // Boundary: exactly one core / exactly 0.5 GiB.
    [1000, 512 * MiB, 1, 'min(1 core, 0.5 GiB / 0.5) = 1 (CPU and memory agree)'],
    [999, 8 * GiB, 1, 'max(1, floor(min(0.999 cores, 8 GiB / 0.5))) = 1 (CPU bounds it)'],
  ])('%i millicores, %i bytes → %i', (cpuMillicores, memoryBytes, value, reason) => {
    const rec = workerPoolSize({ cpuMillicores, memoryBytes });
    expect(rec.value).toBe(value);
    expect(rec.reason).toBe(reason);
    expect(rec.source).toEqual({
      guide: 'sentinel-tuning-guide.md',
      section: 'Worker Service > Worker Pool Sizing',
    });
    expect(rec.basis).toBe('guide-formula');
  });

  test.each<[number, number, string[]]>([
    [2000, 4 * GiB, []],
    [1000, 512 * MiB, []],
    [500, 4 * GiB, ['worker-below-one-core']],
    [999, 4 * GiB, ['worker-below-one-core']],
    [4000, 256 * MiB, ['worker-below-sandbox-memory']],
    [250, 128 * MiB, ['worker-below-one-core', 'worker-below-sandbox-memory']],
  ])('%i millicores, %i bytes warns %j', (cpuMillicores, memoryBytes, codes) => {
    const rec = workerPoolSize({ cpuMillicores, memoryBytes });
    expect((rec.warnings ?? []).map((w) => w.code)).toEqual(codes);
  });

  test('warnings carry the numbers', () => {
    expect(workerPoolSize({ cpuMillicores: 500, memoryBytes: 4 * GiB }).warnings?.[0]?.message).toBe(
      'The pod has 500m CPU, less than the 1 core one sandbox may use; executions will be throttled.',
    );
  });
});

describe('workerResources', () => {
  test.each<[number, number | undefined, [number, number, number, number]]>([
    // Pool 2 gives the guide's requests (cpu "1", memory "512Mi").
    [2, undefined, [1000, 512 * MiB, 2000, 1 * GiB]],
    // Pool 4 (the default WORKER_POOL_SIZE) gives the guide's limits (cpu "4", memory "2Gi").
    [4, undefined, [2000, 1 * GiB, 4000, 2 * GiB]],
    [1, undefined, [500, 256 * MiB, 1000, 512 * MiB]],
    [3, undefined, [1500, 768 * MiB, 3000, 1536 * MiB]],
    [8, undefined, [4000, 2 * GiB, 8000, 4 * GiB]],
    [2, 64 * MiB, [1000, 576 * MiB, 2000, 1088 * MiB]],
  ])('pool %i, overhead %j → %j', (pool, overheadBytes, [reqCpu, reqMem, limCpu, limMem]) => {
    const r = workerResources(pool, overheadBytes === undefined ? {} : { overheadBytes });
    expect([r.requestsCpu.value, r.requestsMemory.value, r.limitsCpu.value, r.limitsMemory.value]).toEqual([
      reqCpu,
      reqMem,
      limCpu,
      limMem,
    ]);
  });

  test('reasons fill in the formula', () => {
    const r = workerResources(4, { overheadBytes: 128 * MiB });
    expect(r.requestsCpu.reason).toBe('4 workers × 1 core / 2 = 2');
    expect(r.requestsMemory.reason).toBe('4 workers × 256Mi + 128Mi overhead = 1152Mi');
    expect(r.limitsCpu.reason).toBe('4 workers × 1 core per sandbox = 4');
    expect(r.limitsMemory.reason).toBe('4 workers × 512Mi largest sandbox + 128Mi overhead = 2176Mi');
    expect(r.requestsCpu.source.section).toBe('Worker Service > K8s Resource Requests');
    expect(r.limitsMemory.source.section).toBe('nsjail Sandbox Limits');
  });

  test('a smaller sandbox memory cap shrinks the limit', () => {
    expect(workerResources(4, { sandboxMaxMemoryBytes: 256 * MiB }).limitsMemory.value).toBe(GiB);
  });
});
