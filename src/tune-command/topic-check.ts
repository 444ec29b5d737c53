/**
 * The `tune check` topic: gathers the facts of a manifest tree and/or the live stack and runs the
 * one registry of cross-component checks (src/tuners/check.ts `checks`, docs/design.md "Tuners").
 * A finding of severity error fails the check (exit 1).
 */

import type { FactRow } from '../facts/book.js';
import { type Gathered, type GatherOptions, gatherFacts } from '../facts/gather.js';
import type { DriftItem } from '../k8s/tune.js';
import { CheckFailedError } from '../lib/errors.js';
import { type CheckReport, type Finding, runChecks } from '../tuners/index.js';
import { planners } from './run.js';

export interface TuneCheckResult {
  profile: string;
  facts: FactRow[];
  notes: string[];
  /** Sources read only in part (a kind the user may not list). */
  warnings: string[];
  findings: Finding[];
  passed: string[];
  skipped: CheckReport['skipped'];
  /** Findings of severity error: the check fails when this is above 0. */
  errors: number;
  /** With --k8s: the cluster read. */
  cluster?: { context: string; server: string; namespace: string };
  /** With --k8s and --manifests: where Git and the cluster differ (the check fails when any). */
  drift?: DriftItem[];
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

/** The drift of the Git manifests against the cluster, each tuned field with the side tune recommends. */
async function clusterDrift(g: Gathered, o: GatherOptions): Promise<DriftItem[]> {
  const { driftOf } = await import('../k8s/tune.js');
  const { loadManifestSet } = await import('../k8s/manifests.js');
  const k8s = g.k8s!;
  const git = (o.manifests ?? []).flatMap((d) => loadManifestSet(d).objects);
  const drift = driftOf(git, k8s.objects, k8s.namespace);
  if (!drift.some((d) => d.kind === 'field')) return drift;
  // tune's rows on the cluster's facts (the cluster first) and on Git's alone: a field is a tuned
  // setting when a row's current value was read from it.
  const gitOnly = await gatherFacts({ ...o, k8s: undefined });
  const topics = Object.keys(planners) as Array<keyof typeof planners>;
  const opts = { ...o, keda: { workload: 'default' as const } };
  const liveRows = topics
    .flatMap((t) => planners[t](g, opts).rows)
    .filter((r) => r.currentFrom?.startsWith('k8s: '));
  const gitRows = topics.flatMap((t) => planners[t](gitOnly, opts).rows);
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const d of drift) {
    if (d.kind !== 'field' || !d.match.key) continue;
    const key = new RegExp(`(^|[^\\w])${esc(d.match.key)}([^\\w]|$)`);
    const r = liveRows.find(
      (x) => d.match.names.some((n) => x.currentFrom!.includes(n)) && key.test(x.currentFrom!),
    );
    if (!r) continue;
    const gr = gitRows.find((x) => x.setting === r.setting && x.component === r.component);
    const liveOk = r.status === 'same';
    const gitOk = gr?.current !== undefined && gr.current === r.recommended;
    d.setting = `${r.setting} (${r.component})`;
    d.recommended = r.recommended;
    d.recommends = liveOk && gitOk ? 'both' : liveOk ? 'cluster' : gitOk ? 'git' : 'neither';
  }
  return drift;
}

export async function runTuneCheck(o: GatherOptions): Promise<TuneCheckResult> {
  const g = await gatherFacts(o);
  const facts = g.book.facts;
  // A manifest tree describes pods elsewhere: this machine's cgroup and host totals say nothing
  // about them, so capacity from there is left out of the checks (flags and manifests stay).
  if ((g.tree || g.k8s) && facts.worker) {
    for (const k of ['cpuMillicores', 'memoryBytes'] as const) {
      const f = facts.worker[k];
      if (f && (f.from === 'host' || f.from === 'cgroup')) delete facts.worker[k];
    }
  }
  const report = runChecks(facts);
  const findings = report.findings;
  const result: TuneCheckResult = {
    profile: g.profile,
    facts: g.book.rows,
    notes: g.book.notes,
    warnings: g.warnings,
    findings,
    passed: report.passed,
    skipped: report.skipped,
    errors: findings.filter((f) => f.severity === 'error').length,
  };
  if (g.k8s) {
    result.cluster = { context: g.k8s.context, server: g.k8s.server, namespace: g.k8s.namespace };
    if (o.manifests?.length) result.drift = await clusterDrift(g, o);
  }
  return result;
}
