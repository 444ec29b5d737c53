import { describe, expect, test } from 'vitest';
import type { K8sObject } from '../../../src/k8s/client.js';
import { podRow, uiFinding } from '../../../src/k8s/pods.js';

const NOW = Date.parse('2026-12-06T12:00:00Z');
const pod = (name: string, spec: object, status: object): K8sObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, creationTimestamp: '2026-12-06T11:00:00Z' },
    spec,
    status,
  }) as K8sObject;

describe('podRow: the status kubectl would print, restarts and the last termination', () => {
  test('a running worker that was OOMKilled: Running, critical, the termination with its age', () => {
    const r = podRow(
      pod(
        'worker-1',
        { containers: [{ name: 'worker', resources: { limits: { memory: '512Mi' } } }] },
        {
          phase: 'Running',
          containerStatuses: [
            {
              name: 'worker',
              ready: true,
              restartCount: 4,
              state: { running: {} },
              lastState: {
                terminated: { reason: 'OOMKilled', exitCode: 137, finishedAt: '2026-12-06T11:58:30Z' },
              },
            },
          ],
        },
      ) as never,
      NOW,
    );
    expect(r).toMatchObject({
      status: 'Running',
      severity: 'critical',
      ready: '1/1',
      restarts: 4,
      lastTermination: 'OOMKilled (137)',
      lastTerminationSeconds: 90,
      ageSeconds: 3600,
    });
    expect(r.containers[0]).toEqual({
      name: 'worker',
      state: 'running',
      restarts: 4,
      lastTermination: 'OOMKilled (137)',
      requests: null,
      limits: 'memory=512Mi',
    });
  });

  test('CrashLoopBackOff wins over the phase; Pending carries the scheduler reason', () => {
    const crash = podRow(
      pod(
        'api-1',
        { containers: [{ name: 'api' }] },
        {
          phase: 'Running',
          containerStatuses: [
            {
              name: 'api',
              ready: false,
              restartCount: 7,
              state: { waiting: { reason: 'CrashLoopBackOff' } },
              lastState: { terminated: { reason: 'Error', exitCode: 1 } },
            },
          ],
        },
      ) as never,
      NOW,
    );
    expect(crash).toMatchObject({ status: 'CrashLoopBackOff', severity: 'critical', ready: '0/1' });
    expect(crash.containers[0]!.state).toBe('waiting: CrashLoopBackOff');
    const pending = podRow(
      pod(
        'worker-2',
        { containers: [{ name: 'worker', resources: { requests: { memory: '4Gi' } } }] },
        {
          phase: 'Pending',
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: '0/3 nodes are available.',
            },
          ],
        },
      ) as never,
      NOW,
    );
    expect(pending).toMatchObject({
      status: 'Pending',
      severity: 'warning',
      restarts: 0,
      lastTermination: null,
      scheduling: 'Unschedulable: 0/3 nodes are available.',
    });
    expect(pending.containers[0]).toMatchObject({ state: 'no status', requests: 'memory=4Gi' });
  });

  test('a control-plane finding in the UI list names its object in the title', () => {
    const f = uiFinding({
      id: 'pod-crash-loop',
      severity: 'critical',
      object: 'Pod/api-1',
      title: 'Container api is crash-looping',
      detail: 'd',
      fix: 'x',
      source: { guide: 'sentinel-deployment-guide.md', section: 'Troubleshooting > Pods Not Starting' },
    });
    expect(f).toMatchObject({
      component: 'k8s',
      title: 'Pod/api-1: Container api is crash-looping',
      evidence: { object: 'Pod/api-1' },
    });
  });
});
