import { CheckFailedError } from '../../lib/errors.js';
import { renderTable } from '../../lib/table.js';
import { wrapToTerminal } from '../../lib/terminal.js';
import { TuneCommand } from '../../tune-command/command.js';
import { execFlags, factFlags, redisFlags } from '../../tune-command/flags.js';
import { renderFacts, renderFinding } from '../../tune-command/render.js';
import { CheckFindingsError, runTuneCheck, type TuneCheckResult } from '../../tune-command/topic-check.js';

const RANK: Record<string, number> = { error: 0, warning: 1, info: 2 };

export type { TuneCheckResult };

const RECOMMENDS: Record<string, string> = {
  git: 'Git',
  cluster: 'cluster',
  both: 'both',
  neither: 'neither',
};

/** The drift table: one row per field or object, values masked, and which side tune recommends. */
function renderDrift(result: TuneCheckResult, dirs: string[]): string {
  const c = result.cluster!;
  const drift = result.drift ?? [];
  const head = `Drift between ${dirs.join(', ')} and namespace ${c.namespace} of context "${c.context}" (${c.server})`;
  if (drift.length === 0) return `${head}: none, the cluster holds what Git says.`;
  const rows = drift.map((d) => [
    d.object,
    d.kind === 'field' ? d.field!.replace(/^spec\.template\.spec\./, 'pod.') : '(whole object)',
    d.kind === 'only-in-cluster' ? '(absent)' : d.kind === 'only-in-git' ? 'present' : d.git!,
    d.kind === 'only-in-git' ? '(absent)' : d.kind === 'only-in-cluster' ? 'present' : d.cluster!,
    d.recommends ? `${RECOMMENDS[d.recommends]} (${d.recommended})` : '-',
  ]);
  return `${head}\n${renderTable(['OBJECT', 'FIELD', 'GIT', 'CLUSTER', 'TUNE RECOMMENDS'], rows)}\n${wrapToTerminal(`pod. is spec.template.spec. TUNE RECOMMENDS: the side holding tune's recommendation for the cluster's facts; "-" where the field is not a setting tune sizes.`, 2)}`;
}

export default class TuneCheck extends TuneCommand {
  static override summary = 'Find contradictions between components: pools vs max_connections, KEDA, more.';
  static override description =
    `Reads the facts of --manifests and/or --live (and flags), then checks: the sum of every pool against max_connections minus the reserved slots (with KEDA the executions add to the API pools), an implicit pgx pool, max_workers against PostgreSQL and RabbitMQ's channel_max, worker requests and limits against WORKER_POOL_SIZE, the pool against the pod's CPU and memory, the API write timeout against the longest stream, prefetch × p99 against consumer_timeout, the KEDA cooldown and trigger protocol, the per-pod pool maximum, Redis maxmemory, usage and policy, and the API's autoscaler against the connection budget.

Each finding carries the numbers, the fix and the guide section; checks that lacked a fact are listed as skipped with what they needed. Exit 1 when a finding has severity error.

With --k8s the facts come from the cluster's live objects (read-only; docs/k8s.md "Tuning from the cluster"); with --k8s and --manifests also the drift between Git and the cluster, field by field, with the side that holds tune's recommendation: exit 1 when anything differs, 3 when the cluster cannot be reached.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --manifests k8s/',
    '<%= config.bin %> <%= command.id %> --live',
    '<%= config.bin %> <%= command.id %> --manifests k8s/ --live --json',
    '<%= config.bin %> <%= command.id %> --k8s --manifests k8s/',
  ];
  static override flags = { ...factFlags, ...execFlags, ...redisFlags };

  async run(): Promise<TuneCheckResult> {
    const { flags } = await this.parse(TuneCheck);
    const result = await runTuneCheck(this.gatherOptions(flags));
    for (const n of result.notes) this.note(`Note: ${n}`);
    for (const w of result.warnings) this.warnUser(w);
    const findings = [...result.findings]
      .sort((a, b) => (RANK[a.severity] ?? 3) - (RANK[b.severity] ?? 3))
      .map((f) => ({ ...f, fix: this.withFlags(f.fix) }));
    if (!this.jsonEnabled()) {
      this.log(
        findings.length === 0
          ? `No contradictions found (profile ${result.profile}).`
          : `Findings (profile ${result.profile})\n\n${findings.map(renderFinding).join('\n\n')}`,
      );
      this.log(`\n${wrapToTerminal(`Passed: ${result.passed.join(', ') || '-'}`, 2)}`);
      for (const s of result.skipped) {
        this.log(wrapToTerminal(`Skipped ${s.id}: needs ${s.missing.join(', ')}`, 2));
      }
      this.log(
        flags.facts
          ? `\nFacts\n${renderFacts(result.facts)}`
          : `\n${result.facts.length} facts used; --facts lists each with where it came from.`,
      );
    }
    result.findings = findings;
    const drift = result.drift ?? [];
    if (!this.jsonEnabled() && result.drift) this.log(`\n${renderDrift(result, flags.manifests ?? [])}`);
    if (drift.length > 0) {
      const c = result.cluster!;
      const errors = result.errors > 0 ? ` and ${result.errors} contradiction(s)` : '';
      throw new CheckFailedError(
        `${drift.length} difference(s) between the Git manifests and namespace ${c.namespace} of context "${c.context}"${errors}.`,
        {
          code: 'DRIFT',
          result,
          suggestion:
            'Where tune recommends the cluster, bring Git to it (`tune <topic> --k8s --manifests DIR --write` writes the recommendations to the files); otherwise let your GitOps pipeline apply Git again.',
        },
      );
    }
    if (result.errors > 0) throw new CheckFindingsError(result);
    return result;
  }
}
