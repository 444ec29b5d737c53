/**
 * Jobs stuck in a non-terminal state (docs/stack.md "Faults"): RUNNING or COMPILING past their
 * time limit plus the reaper's grace. Every worker runs a reaper that fails such jobs, so any left
 * mean no worker runs at all, or clients are polling jobs that will never finish: critical.
 * (Jobs that wait in QUEUED are the oldest-QUEUED rule's.)
 */
import { diagnoseSources as src } from '../sources.js';
import type { Facts, Finding } from '../types.js';
import { count, secs } from './format.js';

export function stuckJobRules(facts: Facts): Finding[] {
  if (!facts.postgres.ok) return [];
  const stuck = facts.postgres.facts.stuckJobs;
  if (!stuck || stuck.count === 0) return [];
  const age = stuck.oldestSeconds ?? 0;
  return [
    {
      id: 'jobs-stuck',
      component: 'postgres',
      severity: 'critical',
      title: `${count(stuck.count)} job${stuck.count === 1 ? '' : 's'} stuck RUNNING/COMPILING, the oldest for ${secs(age)}`,
      evidence: { stuckJobs: stuck.count, oldestSeconds: Math.round(age) },
      detail: `${count(stuck.count)} execution_jobs rows are RUNNING or COMPILING long past their time limit (the oldest unchanged for ${secs(age)}). A live worker's reaper fails such jobs within its interval, so no worker is running, or it cannot reach PostgreSQL or Redis; clients waiting on these jobs wait forever until it does.`,
      bottleneck: 'workers (none running, or their reaper cannot work)',
      fix: 'Start the worker (its reaper then marks these jobs INTERNAL_ERROR), and check its log for PostgreSQL or Redis errors.',
      command: 'sentinel-ctl up',
      source: src.faults,
    },
  ];
}
