import { describe, expect, test } from 'vitest';
import { workerSampleFromText } from '../../../src/diagnose/collectors/worker.js';
import { sandboxOfMetrics } from '../../../src/services/app.js';
import { WorkerMetrics } from '../../../src/worker/metrics.js';

describe('which sandbox driver is active: /metrics → status and diagnose', () => {
  test.each([
    ['nsjail', 'v1', 'nsjail (cgroups v1)'],
    ['bwrap', 'none', 'bwrap (cgroups none)'],
  ])('a worker running %s with cgroups %s reads back as %j', async (driver, cgroups, expected) => {
    const metrics = new WorkerMetrics();
    metrics.sandboxInfo.set({ driver, cgroups }, 1);
    const text = await metrics.registry.metrics();
    expect(text).toContain(`sentinel_sandbox_info{driver="${driver}",cgroups="${cgroups}"} 1`);
    expect(sandboxOfMetrics(text)).toBe(expected);
    expect(workerSampleFromText(text, 0).sandbox).toBe(expected);
  });

  test('a worker that does not say (an older build) reads back as unknown', async () => {
    const text = await new WorkerMetrics().registry.metrics();
    expect(sandboxOfMetrics(text)).toBeUndefined();
    expect(workerSampleFromText(text, 0).sandbox).toBeNull();
  });
});
