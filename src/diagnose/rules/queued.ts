/**
 * The age of the oldest QUEUED job (deployment guide "Troubleshooting > Jobs Stuck in QUEUED"):
 * rows still QUEUED while the task queue holds no message were lost between the API and the
 * broker, or the broker lost them; rows QUEUED for minutes while messages wait are not consumed
 * fast enough. (Jobs past their time limit in any non-terminal state are another rule's.)
 */
import { diagnoseSources as src } from '../sources.js';
import type { Facts, Finding, RuleContext } from '../types.js';
import { count, secs } from './format.js';

/** Tool heuristic: a job is taken within seconds when a worker is free; a minute with an empty queue means its message is gone. */
export const QUEUED_LOST_S = 60;
/** Tool heuristic: the deployment guide's backlog alert waits 5 minutes; a job QUEUED that long waits as long. */
export const QUEUED_OLD_S = 300;

export function queuedJobRules(facts: Facts, ctx: RuleContext): Finding[] {
  if (!facts.postgres.ok) return [];
  const q = facts.postgres.facts.queuedJobs;
  if (!q || q.count === 0 || q.oldestSeconds === null) return [];
  const task = facts.rabbitmq.ok
    ? facts.rabbitmq.facts.queues.find((x) => x.name === ctx.taskQueue)
    : undefined;
  const age = q.oldestSeconds;
  const evidence = {
    queuedJobs: q.count,
    oldestSeconds: Math.round(age),
    queueMessages: task ? task.messages : null,
  };
  if (task && task.messages === 0 && age >= QUEUED_LOST_S) {
    return [
      {
        id: 'queued-jobs-lost',
        component: 'postgres',
        severity: 'critical',
        title: `${count(q.count)} job${q.count === 1 ? '' : 's'} QUEUED for up to ${secs(age)} with no message in ${task.name}`,
        evidence,
        detail: `execution_jobs has ${count(q.count)} rows in QUEUED, the oldest for ${secs(age)}, but ${task.name} holds no message: nothing will ever run them (the message was never published, or was lost or purged).`,
        bottleneck: 'lost messages (API publish or broker)',
        fix: 'Republish them from their rows (job id, language, source) or mark them failed; check the API log for publish errors and the broker for purges.',
        command: 'sentinel-ctl logs api',
        source: src.stuckQueued,
      },
    ];
  }
  if (age >= QUEUED_OLD_S) {
    return [
      {
        id: 'queued-jobs-old',
        component: 'postgres',
        severity: 'warning',
        title: `Oldest QUEUED job waiting ${secs(age)} (${count(q.count)} QUEUED)`,
        evidence,
        detail: `The oldest of ${count(q.count)} QUEUED jobs was created ${secs(age)} ago${task ? ` with ${count(task.messages)} messages in ${task.name} and ${task.consumersConfirmed ?? task.consumers} consumers` : ''}: messages are not consumed fast enough.`,
        bottleneck: 'workers (not consuming, or too few)',
        fix: 'Check the worker pods and their AMQP connection; scale workers (KEDA maxReplicaCount, WORKER_POOL_SIZE).',
        command: 'sentinel-ctl tune keda',
        source: src.stuckQueued,
      },
    ];
  }
  return [];
}
