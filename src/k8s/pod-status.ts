/**
 * Pods and events as the API server writes them (core/v1 JSON), and the readings of a pod's status
 * that `diagnose --k8s` (diagnose.ts), its Kubernetes pane (pods.ts) and the rollout wait
 * (rollout.ts) share: the scheduler's refusal and its reason, a container ended OOMKilled.
 * Types only from client.ts: loading this module loads no Kubernetes client.
 */
import type { K8sObject } from './client.js';

export type Condition = { type: string; status: string; reason?: string; message?: string };
export type Terminated = { reason?: string; exitCode?: number; finishedAt?: string };

export interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string }; running?: object; terminated?: Terminated };
  lastState?: { terminated?: Terminated };
}

export interface Pod extends K8sObject {
  spec?: {
    containers?: Array<{
      name: string;
      resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
    }>;
  };
  status?: { phase?: string; conditions?: Condition[]; containerStatuses?: ContainerStatus[] };
}

export interface Event {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  lastTimestamp?: string;
  eventTime?: string;
  firstTimestamp?: string;
  metadata?: { name?: string; creationTimestamp?: string };
  involvedObject?: { kind?: string; name?: string };
}

/** The scheduler's refusal of a pod (its PodScheduled condition is False), if there is one. */
export function unschedulable(p: Pod): Condition | undefined {
  return p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
}

/** "REASON: MESSAGE" of a scheduling refusal, as `kubectl describe pod` shows it. */
export function schedulingReason(c: Condition): string {
  return `${c.reason ?? 'Unschedulable'}: ${c.message ?? ''}`;
}

/** The container ended OOMKilled, in its current state or its last run. */
export function oomKilled(c: ContainerStatus): boolean {
  return c.lastState?.terminated?.reason === 'OOMKilled' || c.state?.terminated?.reason === 'OOMKilled';
}
