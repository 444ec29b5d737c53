import { Args, Flags } from '@oclif/core';
import { type CompareResult, compareFiles, renderCompare } from '../../bench/compare.js';
import { SentinelCommand } from '../../cli/base-command.js';
import { CheckFailedError } from '../../lib/errors.js';
import { renderTable } from '../../lib/table.js';
import { fitToTerminal } from '../../lib/terminal.js';

export type { CompareResult };

/** Percent, as --tolerance: 0–100, decimals allowed (0.1 = a tenth of a percent). */
const percent = Flags.custom<number>({
  parse: async (s) => {
    const n = Number(s);
    if (!(s.trim() !== '' && n >= 0 && n <= 100)) throw new Error(`Expected a percentage 0–100, got "${s}"`);
    return n;
  },
  helpValue: '<percent>',
});

/** Regressions found: exit 1, with the comparison still in the --json envelope. */
class RegressionError extends CheckFailedError {
  constructor(override readonly result: CompareResult) {
    super(
      `${result.regressions} regression(s) beyond the tolerance between ${result.old.files.join(',')} and ${result.new.files.join(',')}.`,
      {
        code: 'REGRESSION',
        result: result,
        suggestion: 'See the rows marked REGRESSION; raise --tolerance if the change is expected noise.',
      },
    );
  }
}

export default class BenchCompare extends SentinelCommand<CompareResult> {
  static override summary = 'Compare two bench JSON reports and flag regressions.';
  static override description =
    `Shows throughput, failure rate and latency percentiles per request name (and e2e_duration, checks, execution_errors for the Sentinel scenario), old → new with the change in percent. A figure that got worse by more than --tolerance percent (failure rates: a rise of more than --error-tolerance percent, e.g. 1 % → 1.2 % is 0.2), or a threshold that passed before and fails now, is a regression: exit 1. Shards of one run can be given comma-separated; their histograms are merged first.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> baseline.json run.json',
    '<%= config.bin %> <%= command.id %> baseline.json run.json --tolerance 5 --json',
    '<%= config.bin %> <%= command.id %> main1.json,main2.json pr1.json,pr2.json',
  ];
  static override args = {
    old: Args.string({
      required: true,
      description: 'Baseline report (json=FILE of bench), or shards a.json,b.json.',
    }),
    new: Args.string({ required: true, description: 'Report to judge against the baseline.' }),
  };
  static override flags = {
    tolerance: Flags.integer({
      min: 0,
      max: 1000,
      default: 10,
      helpValue: '<percent>',
      summary: 'Allowed worsening of latency/throughput, in percent of the old value.',
    }),
    'error-tolerance': percent({
      default: 0.1,
      summary: 'Allowed rise of failure rates, in percent (0.1: from 1 % to 1.1 % passes).',
    }),
  };

  async run(): Promise<CompareResult> {
    const { args, flags } = await this.parse(BenchCompare);
    const result = compareFiles(args.old, args.new, {
      tolerancePct: flags.tolerance,
      errorTolerance: flags['error-tolerance'] / 100,
    });
    if (!this.jsonEnabled()) this.log(fitToTerminal(renderCompare(result, renderTable)));
    if (result.regressions > 0) throw new RegressionError(result);
    return result;
  }
}
