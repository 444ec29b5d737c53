import { Args } from '@oclif/core';
import { ThresholdsFailedError } from '../../bench/cli.js';
import { presetThresholds } from '../../bench/presets.js';
import {
  type BenchResult,
  checkMergeable,
  mergeReports,
  readReport,
  toResult,
} from '../../bench/report/model.js';
import { renderSummary } from '../../bench/report/summary.js';
import { parseOutput, writeOutputs } from '../../bench/report/write.js';
import { parseThreshold, parseThresholdFlag } from '../../bench/thresholds.js';
import { SentinelCommand } from '../../cli/base-command.js';
import { UserError } from '../../lib/errors.js';
import { fitToTerminal } from '../../lib/terminal.js';
import Bench from './index.js';

export default class BenchMerge extends SentinelCommand<BenchResult> {
  static override summary = 'Merge the JSON reports of shards of one test and judge its thresholds.';
  static override description =
    "Reads the reports of `bench --shard i/N --out json=FILE`, merges their HDR histograms exactly, sums the counters, computes rates over the common window (first start to last end), lines the per-second series up on each shard's measured start, and evaluates the thresholds on the merged data (the shards' own, or those given here). Refuses reports of different scenarios, targets, load models, schedules or shard counts, and a shard given twice. --assert exits 1 when a threshold fails; every report format can be written from the merge.";
  static override examples = [
    '<%= config.bin %> <%= command.id %> shard1.json shard2.json --assert',
    "<%= config.bin %> <%= command.id %> shard*.json -t 'http_req_duration:p(99)<500'",
  ];
  static override strict = false;
  static override args = {
    reports: Args.string({
      required: true,
      description: 'Shard reports (json=FILE of bench --shard), two or more.',
    }),
  };
  // The same flags as bench's, so a merge is judged and reported exactly like a single run.
  static override flags = {
    threshold: Bench.flags.threshold,
    preset: Bench.flags.preset,
    assert: Bench.flags.assert,
    out: Bench.flags.out,
  };

  async run(): Promise<BenchResult> {
    const { argv, flags } = await this.parse(BenchMerge);
    const files = argv as string[];
    if (files.length < 2)
      throw new UserError('bench merge needs two or more reports.', {
        suggestion: 'sentinel-ctl bench merge shard1.json shard2.json',
      });
    const outputs = (flags.out ?? []).map(parseOutput);
    const reports = files.map(readReport);
    checkMergeable(reports, files);
    const given = [
      ...(flags.preset ?? []).flatMap((p) => presetThresholds(p)).map(parseThreshold),
      ...(flags.threshold ?? []).map((t, i) => parseThresholdFlag(t, i)),
    ];
    const merged = mergeReports(reports, given.length > 0 ? given : undefined);
    const written = writeOutputs(outputs, merged);
    const result = toResult(merged);
    for (const w of result.warnings) this.warnUser(w);
    if (!this.jsonEnabled()) {
      this.log(fitToTerminal(renderSummary(result)));
      for (const f of written) this.note(`wrote ${f}`);
    }
    if (flags.assert && !result.passed) throw new ThresholdsFailedError(result);
    return result;
  }
}
