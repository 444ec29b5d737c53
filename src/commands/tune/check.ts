import { wrapToTerminal } from '../../lib/terminal.js';
import { TuneCommand } from '../../tune-command/command.js';
import { execFlags, factFlags, redisFlags } from '../../tune-command/flags.js';
import { renderFacts, renderFinding } from '../../tune-command/render.js';
import { CheckFindingsError, runTuneCheck, type TuneCheckResult } from '../../tune-command/topic-check.js';

const RANK: Record<string, number> = { error: 0, warning: 1, info: 2 };

export type { TuneCheckResult };

export default class TuneCheck extends TuneCommand {
  static override summary =
    'Find contradictions between components: pools vs max_connections, KEDA vs the database, and more.';
  static override description =
    `Reads the facts of --manifests and/or --live (and flags), then checks: the sum of every pool against max_connections minus the reserved slots (with KEDA the executions add to the API pools), an implicit pgx pool, max_workers against PostgreSQL and RabbitMQ's channel_max, worker requests and limits against WORKER_POOL_SIZE, the pool against the pod's CPU and memory, the API write timeout against the longest stream, prefetch × p99 against consumer_timeout, the KEDA cooldown and trigger protocol, the per-pod pool maximum, Redis maxmemory, usage and policy, and the API's autoscaler against the connection budget.

Each finding carries the numbers, the fix and the guide section; checks that lacked a fact are listed as skipped with what they needed. Exit 1 when a finding has severity error.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --manifests k8s/',
    '<%= config.bin %> <%= command.id %> --live',
    '<%= config.bin %> <%= command.id %> --manifests k8s/ --live --json',
  ];
  static override flags = { ...factFlags, ...execFlags, ...redisFlags };

  async run(): Promise<TuneCheckResult> {
    const { flags } = await this.parse(TuneCheck);
    const result = await runTuneCheck(this.gatherOptions(flags));
    for (const n of result.notes) this.note(`Note: ${n}`);
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
    if (result.errors > 0) throw new CheckFindingsError(result);
    return result;
  }
}
