/**
 * `tune check`: the cross-component contradictions of DESIGN.md over the facts of a manifest tree
 * and/or the live stack (src/tuners/check.ts `runChecks`), plus the API's autoscaler against the
 * connection budget. A finding of severity error fails the check (exit 1).
 */
import { CheckFailedError } from '../lib/errors.js';
import { type CheckReport, type Finding, runChecks, sources } from '../tuners/index.js';
import type { FactBook, FactRow } from './fact-book.js';
import { type GatherOptions, gatherFacts } from './facts.js';

export interface TuneCheckResult {
  profile: string;
  facts: FactRow[];
  notes: string[];
  findings: Finding[];
  passed: string[];
  skipped: CheckReport['skipped'];
  /** Findings of severity error: the check fails when this is above 0. */
  errors: number;
}

/** The check failed: exit 1, and `--json` still carries the whole report. */
export class CheckFindingsError extends CheckFailedError {
  constructor(override readonly result: TuneCheckResult) {
    const errors = result.findings.filter((f) => f.severity === 'error');
    super(
      `${errors.length} contradiction${errors.length === 1 ? '' : 's'} found: ${errors.map((f) => f.id).join(', ')}.`,
      {
        code: 'CHECK_FINDINGS',
        result: result,
        suggestion:
          'Each finding above names the command that fixes it; run them, then `sentinel-ctl tune check` again.',
      },
    );
  }
}

/**
 * The API's HorizontalPodAutoscaler against the connection budget: the API opens maxReplicas × pool
 * at its peak. The facts count the peak already unless `--api-replicas` says fewer.
 */
export function checkApiHpa(facts: FactBook): Finding[] {
  const hpa = facts.get<number>('api.hpaMaxReplicas');
  const replicas = facts.get<number>('api.replicas');
  const pool = facts.get<number | null>('api.poolMaxConns');
  if (!hpa || !replicas || !pool || pool.value === null || hpa.value <= replicas.value) return [];
  const extra = (hpa.value - replicas.value) * pool.value;
  return [
    {
      id: 'api-hpa-vs-max-connections',
      severity: 'warning',
      message:
        `The API's HorizontalPodAutoscaler scales to ${hpa.value} replicas × pool_max_conns ${pool.value} = ${hpa.value * pool.value} connections, ` +
        `${extra} more than the ${replicas.value} × ${pool.value} counted (${replicas.detail}).`,
      fix: `Size max_connections for the peak (sentinel-ctl tune pool --api-replicas ${hpa.value} --write), or lower the HPA's maxReplicas.`,
      source: sources.pgxRecommendations,
      evidence: { 'api.hpaMaxReplicas': hpa, 'api.replicas': replicas, 'api.poolMaxConns': pool },
    },
  ];
}

export async function runTuneCheck(o: GatherOptions): Promise<TuneCheckResult> {
  const g = await gatherFacts(o);
  const facts = g.book.facts;
  // A manifest tree describes pods elsewhere: this machine's cgroup and host totals say nothing
  // about them, so capacity from there is left out of the checks (flags and manifests stay).
  if (g.tree && facts.worker) {
    for (const k of ['cpuMillicores', 'memoryBytes'] as const) {
      const f = facts.worker[k];
      if (f && (f.from === 'host' || f.from === 'cgroup')) delete facts.worker[k];
    }
  }
  const report = runChecks(facts);
  const findings = [...report.findings, ...checkApiHpa(g.book)];
  const result: TuneCheckResult = {
    profile: g.profile,
    facts: g.book.rows,
    notes: g.book.notes,
    findings,
    passed: report.passed,
    skipped: report.skipped,
    errors: findings.filter((f) => f.severity === 'error').length,
  };
  return result;
}
