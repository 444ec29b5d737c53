import { Args, Flags } from '@oclif/core';
import { type BenchInput, executeBench, runError } from '../../bench/cli.js';
import type { K8sBenchResult } from '../../bench/k8s.js';
import { presetNames } from '../../bench/presets.js';
import type { BenchResult } from '../../bench/report/model.js';
import { renderSummary } from '../../bench/report/summary.js';
import { SentinelCommand } from '../../cli/base-command.js';
import { clusterFlags, DEFAULT_BENCH_IMAGE } from '../../k8s/flags.js';
import { parseDuration } from '../../lib/duration.js';
import { UserError } from '../../lib/errors.js';
import { fitToTerminal, wrapToTerminal } from '../../lib/terminal.js';

export type { BenchResult };

const number = Flags.custom<number>({
  parse: async (s) => {
    if (!(Number(s) > 0)) throw new Error(`Expected a positive number but received: ${s}`);
    return Number(s);
  },
});
const quick = { exclusive: ['scenario'], helpGroup: 'SINGLE URL' };
const k8sOnly = { dependsOn: ['k8s'], helpGroup: 'KUBERNETES' };

export default class Bench extends SentinelCommand<BenchResult> {
  /** A URL run never needs the config: its loader loads on demand (see run). */
  static loadsConfig = false;
  static override summary = 'Load-test a URL, a YAML scenario or the Sentinel stack; judge thresholds.';
  static override description =
    `Closed model (--vus, or --stages of VUs) or open model (--rate, or --stages of arrivals/s; latency counts from each request's due time, so a stalled server cannot hide). Scenarios: a URL with wrk-style flags, a YAML file (setup step, weighted requests, think time, thresholds), a shipped profile (jackdaw), or the built-in "sentinel" end-to-end scenario (submit, poll, check stdout). Thresholds use k6's grammar; --preset applies the guides' numbers; --assert exits 1 when one fails. Ctrl-C stops cleanly, prints the summary and exits 130; a run aborted by an abortOnFail threshold exits 1. Shards (--shard i/N --start-at T) of one test are merged with "bench merge"; --k8s --shards N runs them as an Indexed Job on a cluster and merges their reports here (docs/bench.md "Shards, and running them on Kubernetes").`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> http://127.0.0.1:8080/api/v1/health -c 50 -d 10s',
    '<%= config.bin %> <%= command.id %> --scenario jackdaw --base-url http://127.0.0.1:8000 \\\n    --preset jackdaw --assert --out junit=bench.xml --out html=bench.html',
    '<%= config.bin %> <%= command.id %> --scenario sentinel --rate 5 -d 2m --assert',
    '<%= config.bin %> <%= command.id %> http://127.0.0.1:8080/ --stages 30s:10,1m:100',
    "<%= config.bin %> <%= command.id %> http://127.0.0.1:8080/ -t 'http_req_duration:p(99)<200'",
    '<%= config.bin %> <%= command.id %> http://sentinel-api.sentinel:8080/api/v1/health \\\n    --rate 2000 -d 1m --k8s --shards 4 -n loadtest --preset sark --assert',
  ];
  static override args = {
    target: Args.string({ description: 'URL to load (single-endpoint mode, like wrk or autocannon).' }),
  };
  static override flags = {
    scenario: Flags.string({
      summary: 'Scenario: a YAML file, a shipped name (jackdaw), or "sentinel" (built-in end-to-end).',
    }),
    'base-url': Flags.string({
      summary: "Server to load, replacing the scenario's baseUrl (sentinel: the local API port).",
    }),
    method: Flags.option({
      options: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const,
      char: 'm',
      default: 'GET',
      ...quick,
    })({ summary: 'HTTP method.' }),
    header: Flags.string({
      char: 'H',
      multiple: true,
      summary: 'Request header "Name: value" (repeatable).',
      ...quick,
    }),
    body: Flags.string({
      char: 'b',
      summary: 'Request body (JSON bodies get content-type application/json).',
      ...quick,
    }),
    expect: Flags.integer({
      multiple: true,
      min: 100,
      max: 599,
      summary: 'Expected status (repeatable; default 200-399).',
      ...quick,
    }),
    model: Flags.option({ options: ['closed', 'open'] as const })({
      summary: 'Load model (default: open when --rate is given).',
    }),
    vus: Flags.integer({
      char: 'c',
      min: 1,
      max: 100_000,
      summary: 'Virtual users = concurrent connections (closed); pre-allocated VUs (open).',
    }),
    rate: number({ char: 'R', summary: 'Arrivals per second (open model).' }),
    stages: Flags.string({
      summary: 'Ramping stages DURATION:TARGET,... of VUs (closed) or arrivals/s (open), e.g. 30s:10,1m:100.',
      exclusive: ['duration'],
    }),
    duration: Flags.string({
      char: 'd',
      helpValue: '<duration>',
      summary: 'How long to measure, e.g. 30s or 1m30s; a bare number is seconds (default 10s).',
    }),
    iterations: Flags.integer({ min: 1, summary: 'Stop after this many iterations.' }),
    'max-vus': Flags.integer({
      min: 1,
      summary: 'Open model: most VUs in flight; arrivals beyond are counted as dropped.',
    }),
    connections: Flags.integer({
      min: 1,
      summary: 'Keep-alive connections per origin (default: peak VUs, or min(max-vus, 512)).',
    }),
    warmup: Flags.string({
      helpValue: '<duration>',
      summary: 'Warm-up before measuring (connections, JIT), reported separately, e.g. 5s.',
    }),
    workers: Flags.integer({
      min: 1,
      max: 64,
      default: 1,
      summary: 'Worker threads to spread the load over (histograms are merged).',
    }),
    'graceful-stop': Flags.string({
      helpValue: '<duration>',
      summary:
        'Time in-flight iterations get to finish at the end or on Ctrl-C (default 10s; sentinel: poll timeout + 5s).',
    }),
    timeout: Flags.string({
      default: '60s',
      helpValue: '<duration>',
      summary:
        'Per-request timeout, from sending to the last byte, e.g. 100ms (a bare number is seconds); counted as timeouts.',
    }),
    prime: Flags.boolean({
      default: true,
      allowNo: true,
      summary:
        'Before the clock starts, open the connections and send unmeasured requests (a safe GET) to warm up.',
    }),
    shard: Flags.string({
      summary: 'Run share i of N of the test (i/N): arrivals interleaved, VUs and iterations split.',
      helpGroup: 'DISTRIBUTED',
    }),
    'start-at': Flags.string({
      summary: 'Start the schedule at this time (ISO, epoch ms, or +10s), so shards begin together.',
      helpGroup: 'DISTRIBUTED',
    }),
    shards: Flags.integer({
      min: 1,
      max: 100,
      summary:
        'With --k8s: run the test as an Indexed Job of N shards, merge their reports here (docs/bench.md "Shards, and running them on Kubernetes").',
      helpGroup: 'DISTRIBUTED',
    }),
    ...clusterFlags,
    k8s: Flags.boolean({
      summary: 'Run the shards (--shards N) as a Job on the current kubeconfig context instead of here.',
      helpGroup: 'KUBERNETES',
      dependsOn: ['shards'],
    }),
    namespace: Flags.string({
      char: 'n',
      summary:
        "Namespace of the run's Job, ServiceAccount, Role and report ConfigMaps (default: the context's).",
      ...k8sOnly,
    }),
    image: Flags.string({
      summary: `Image of the shards, with sentinel-ctl as its command (default ${DEFAULT_BENCH_IMAGE}, generate k8s's registry).`,
      ...k8sOnly,
    }),
    keep: Flags.boolean({
      summary:
        "Keep the run's Job, pods, ServiceAccount, Role, RoleBinding and ConfigMaps (default: deleted).",
      ...k8sOnly,
    }),
    'wait-timeout': Flags.string({
      helpValue: '<duration>',
      summary: "How long to wait for the shards' reports after the schedule's planned end (default 2m).",
      ...k8sOnly,
    }),
    'k8s-shard': Flags.string({
      hidden: true,
      summary:
        'In a pod of the Job: run shard JOB_COMPLETION_INDEX+1 of --shards, store the report in its ConfigMap.',
    }),
    'poll-interval': Flags.string({
      helpValue: '<duration>',
      summary: 'Sentinel scenario: time between status polls of a job (default 1s).',
    }),
    threshold: Flags.string({
      char: 't',
      multiple: true,
      summary: "k6 threshold METRIC[{tag:value}]:EXPR[;abortOnFail], e.g. 'http_req_duration:p(95)<100'.",
    }),
    preset: Flags.option({ options: presetNames, multiple: true })({
      summary: 'Thresholds from a guide: jackdaw, sentinel or sark.',
    }),
    assert: Flags.boolean({ summary: 'Exit 1 when any threshold fails (for CI).' }),
    out: Flags.string({
      multiple: true,
      summary: 'Report FORMAT=FILE: json, csv, junit or html (repeatable).',
    }),
    progress: Flags.option({ options: ['auto', 'tty', 'plain', 'none'] as const, default: 'auto' })({
      summary: 'Progress on stderr: live view on a TTY, plain lines otherwise, none under --json.',
    }),
  };

  async run(): Promise<BenchResult> {
    const { args, flags } = await this.parse(Bench);
    const input: BenchInput = { ...flags, target: args.target };
    // Only the built-in sentinel scenario reads the config (the local API port).
    if (flags.scenario !== undefined) await this.ensureConfigLoader();
    const apiUrl = () => `http://127.0.0.1:${this.loadConfig(flags).config.ports.api}`;
    if (flags.k8s) return this.runOnK8s(input, flags, apiUrl);
    const runId = flags['k8s-shard'];
    if (flags.shards !== undefined && !runId)
      throw new UserError('--shards runs a Job of shards and needs --k8s.', {
        suggestion: 'Add --k8s (and --kubeconfig/--context/-n), or run shards yourself with --shard i/N.',
      });
    // Loaded only for Kubernetes: the client library costs a local run's start-up a third of a CPU-second.
    const k8s = runId ? await import('../../bench/k8s.js') : undefined;
    if (runId && k8s) {
      if (flags.shards === undefined) throw new UserError('--k8s-shard needs --shards N.');
      input.shard = k8s.shardFromEnv(flags.shards);
      input.scenario = k8s.scenarioFromEnv() ?? input.scenario;
      if (input.scenario !== undefined) await this.ensureConfigLoader();
    }
    const io = {
      json: this.jsonEnabled(),
      isTTY: Boolean(process.stderr.isTTY),
      note: (m: string) => this.note(m),
    };
    const { report, result, written } = await executeBench(input, io, apiUrl);
    for (const w of result.warnings) this.warnUser(w);
    if (runId && k8s) {
      const stored = await k8s.storeShardReport(report, runId);
      this.note(
        `Stored the report of shard ${input.shard} in ConfigMap ${stored.name} (${stored.bytes} bytes gzipped).`,
      );
    }
    return this.finish(result, written, flags.assert);
  }

  /** The summary, the files written, and the exit a local run has (also for --k8s). */
  private finish<R extends BenchResult>(result: R, written: string[], assert: boolean): R {
    if (!this.jsonEnabled()) {
      this.log(fitToTerminal(renderSummary(result)));
      for (const f of written) this.note(`wrote ${f}`);
    }
    // An error carries its result; the base command puts it in the --json envelope.
    const error = runError(result, assert);
    if (error) throw error;
    return result;
  }

  /** `--k8s --shards N`: the coordinator of an Indexed Job (src/bench/k8s.ts). */
  private async runOnK8s(
    input: BenchInput,
    flags: {
      shards?: number;
      image?: string;
      keep: boolean;
      'wait-timeout'?: string;
      kubeconfig?: string;
      context?: string;
      namespace?: string;
      assert: boolean;
    },
    apiUrl: () => string,
  ): Promise<K8sBenchResult> {
    const wait = flags['wait-timeout'] ?? '2m';
    const waitTimeoutMs = parseDuration(wait);
    if (waitTimeoutMs === undefined || waitTimeoutMs < 0)
      throw new UserError(`--wait-timeout "${wait}" is not a duration.`, {
        suggestion: 'Examples: 90s, 5m.',
      });
    const { runK8sBench } = await import('../../bench/k8s.js');
    const { result, written } = await runK8sBench(
      input,
      {
        shards: flags.shards!,
        image: flags.image ?? DEFAULT_BENCH_IMAGE,
        keep: flags.keep,
        kubeconfig: flags.kubeconfig,
        context: flags.context,
        namespace: flags.namespace,
        waitTimeoutMs,
      },
      {
        json: this.jsonEnabled(),
        progress: (m) => this.progress(wrapToTerminal(m, 2)),
        note: (m) => this.note(m),
      },
      apiUrl,
    );
    for (const w of result.warnings) this.warnUser(w);
    return this.finish(result, written, flags.assert);
  }
}
