import { Flags } from '@oclif/core';
import { renderAuditTable, renderSummary } from '../../audit/render.js';
import { runAudit } from '../../audit/run.js';
import { auditTarget } from '../../audit/target.js';
import type { AuditReport } from '../../audit/types.js';
import { SentinelCommand } from '../../cli/base-command.js';
import { CheckFailedError } from '../../lib/errors.js';

export type AuditSandboxResult = AuditReport;

/** Exit 1 with the report attached, so --json still carries every row. */
export class AuditFailedError extends CheckFailedError {
  constructor(readonly report: AuditReport) {
    const bad = report.rows.filter((r) => r.verdict !== 'contained');
    const escapes = bad.filter((r) => r.verdict === 'ESCAPE').map((r) => r.id);
    const unproven = bad.filter((r) => r.verdict === 'INCONCLUSIVE').map((r) => r.id);
    super(
      [
        escapes.length ? `Escape${escapes.length > 1 ? 's' : ''} found: ${escapes.join(', ')}.` : '',
        unproven.length ? `Containment not shown for: ${unproven.join(', ')}.` : '',
      ]
        .filter(Boolean)
        .join(' '),
      {
        code: escapes.length ? 'ESCAPE_FOUND' : 'AUDIT_INCONCLUSIVE',
        result: report,
        suggestion:
          'Each row above names the evidence; the sandbox policy is in src/worker/sandbox/ (bwrap.ts, seccomp.ts, limits.ts). Read the job with `sentinel-ctl logs worker`.',
      },
    );
  }
}

export default class AuditSandbox extends SentinelCommand<AuditSandboxResult> {
  static override summary = 'Run hostile programs through the real worker; report if the sandbox held.';
  static override description =
    `Submits about thirty hostile Python and C++ programs through the API, so they run exactly as users' code does: network (TCP to this stack's own PostgreSQL, Redis, RabbitMQ and API ports, UDP, DNS, raw sockets, interfaces, unix sockets), host secrets (/etc/shadow, the state dir's credentials.json, the worker's environment), writes outside /tmp, symlink tricks, /proc/sys, devices, uid 0, setuid, chroot, mount, ptrace, kernel interfaces, host processes, kill(-1), and fork, thread, memory, disk and output bombs and an infinite loop.

Each program prints one BLOCKED or ESCAPED line per probe; a row is contained when the job ended with the expected status and every probe was blocked. Output holding any of the stack's passwords or a connection string is an escape whatever the program claims. Host canaries (TCP, UDP, abstract unix socket) count contacts, and at the end the stack must still serve a Python hello world with the same worker and API processes.

Exit code 0 when every row is contained, 1 on an escape or a row whose containment could not be shown, 3 when the API does not answer. Takes about a minute with the default worker pool.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json > audit.json',
    '<%= config.bin %> <%= command.id %> --port-offset 16000 --concurrency 2',
  ];
  static override flags = {
    concurrency: Flags.integer({
      summary: 'Attacks in flight at once (default: the worker pool size, at most 4).',
      min: 1,
      max: 16,
    }),
    'api-url': Flags.string({ summary: 'API base URL (default: API_URL, else the local stack).' }),
  };

  async run(): Promise<AuditSandboxResult> {
    const { flags } = await this.parse(AuditSandbox);
    const loaded = this.loadConfig(flags);
    const target = auditTarget(loaded, flags['api-url']);
    const concurrency = flags.concurrency ?? Math.min(loaded.config.worker.poolSize, 4);
    this.progress(`Auditing the sandbox through ${target.apiUrl}, ${concurrency} at a time…`);
    const report = await runAudit(target, {
      concurrency,
      onRow: (row, done, total) => this.progress(`[${done}/${total}] ${row.id}: ${row.verdict}`),
    });
    for (const w of report.warnings) this.warnUser(w);
    if (!this.jsonEnabled()) {
      this.log(renderAuditTable(report));
      this.progress(renderSummary(report));
    }
    if (report.summary.escapes + report.summary.inconclusive > 0) throw new AuditFailedError(report);
    return report;
  }
}
