/**
 * The `tune check` topic: gathers the facts of a manifest tree and/or the live stack and runs the
 * one registry of cross-component checks (src/tuners/check.ts `checks`, docs/design.md "Tuners").
 * A finding of severity error fails the check (exit 1).
 */

import type { FactRow } from '../facts/book.js';
import { type GatherOptions, gatherFacts } from '../facts/gather.js';
import { CheckFailedError } from '../lib/errors.js';
import { type CheckReport, type Finding, runChecks } from '../tuners/index.js';

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
  const findings = report.findings;
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
