import { readFileSync } from 'node:fs';
import { Args, Flags } from '@oclif/core';
import { SentinelCommand } from '../cli/base-command.js';
import type { Job } from '../jobs/repository.js';
import { durationFlag, legacyMsFlag, legacyMsWarning } from '../lib/duration.js';
import { CheckFailedError, UserError } from '../lib/errors.js';
import { readInputFile } from '../lib/fs.js';
import { endpoints } from '../services/endpoints.js';
import { languageFromFile, submitJob, waitForJob } from '../submit/client.js';

export type SubmitResult = Job | { job_id: string; status: string };

export default class Submit extends SentinelCommand<SubmitResult> {
  static override summary = 'Submit one program through the API and wait for its result (the smoke test).';
  static override description =
    `Reads FILE (or standard input with "-"), posts it to POST /api/v1/submissions and follows GET /api/v1/submissions/:id/stream (a WebSocket) until a terminal status, polling GET /api/v1/submissions/:id instead with --no-stream or when the API has no stream. The program's stdout is printed on stdout and its stderr on stderr; a status line goes to stderr. Exit code 0 when the job ends SUCCESS, 1 for any other final status or a poll timeout. --json prints the envelope {status, result, warnings} with the job, exactly as the API returns it, as result.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> examples/hello.py',
    'echo 21 | <%= config.bin %> <%= command.id %> examples/double.cpp --stdin 21',
    '<%= config.bin %> <%= command.id %> - --language python --time-limit 2s --json < script.py',
  ];
  static override args = {
    file: Args.string({ description: 'Source file, or - for standard input.', required: true }),
  };
  static override flags = {
    language: Flags.option({ char: 'l', options: ['python', 'cpp'] as const })({
      summary: 'Language; default from the file extension (.py, .cpp/.cc).',
    }),
    stdin: Flags.string({ summary: "Text passed to the program's standard input." }),
    'time-limit': durationFlag({
      summary: 'Wall-clock limit of the program, 1ms–10s (API default 5s).',
      min: 1,
      max: 10_000,
    }),
    'time-limit-ms': legacyMsFlag({ replacement: 'time-limit', max: 10_000 }),
    'memory-limit-kb': Flags.integer({ summary: 'Memory limit in KB (API default 262144).', min: 1024 }),
    wait: Flags.boolean({
      summary: 'Wait for the result (--no-wait: print the job id and return).',
      default: true,
      allowNo: true,
    }),
    stream: Flags.boolean({
      summary:
        'Follow the job on the WebSocket stream (--no-stream: poll); polls when the API has no stream.',
      default: true,
      allowNo: true,
    }),
    timeout: durationFlag({ summary: 'How long to wait for a terminal status.', default: 60_000 }),
    'api-url': Flags.string({ summary: 'API base URL (default: API_URL, else the local stack).' }),
  };

  async run(): Promise<SubmitResult> {
    const { args, flags } = await this.parse(Submit);
    if (flags['time-limit-ms'] !== undefined)
      this.warnUser(legacyMsWarning('time-limit-ms', 'time-limit', flags['time-limit-ms']));
    const { config } = this.loadConfig(flags);
    const apiUrl = (flags['api-url'] ?? endpoints(config).apiUrl).replace(/\/$/, '');
    if (args.file.trim() === '')
      readInputFile(args.file, 'a Python or C++ source file', {
        suggestion: 'Pass a .py or .cpp file, or - to read the program from standard input.',
      });
    const language = flags.language ?? languageFromFile(args.file);
    if (!language) {
      throw new UserError(`Cannot tell the language of ${args.file}.`, {
        suggestion: 'Add --language python or --language cpp.',
      });
    }
    // A file: one line and a hint for every reason it cannot be read (missing, a directory, empty).
    const source =
      args.file === '-'
        ? readFileSync(0, 'utf8')
        : readInputFile(args.file, 'a Python or C++ source file', {
            suggestion: 'Pass a .py or .cpp file, or - to read the program from standard input.',
          });
    const accepted = await submitJob(apiUrl, {
      language,
      source_code: source,
      stdin: flags.stdin,
      time_limit_ms: flags['time-limit'] ?? flags['time-limit-ms'],
      memory_limit_kb: flags['memory-limit-kb'],
    });
    if (!flags.wait) {
      if (!this.jsonEnabled()) this.log(accepted.job_id);
      return accepted;
    }
    this.progress(`job ${accepted.job_id} ${accepted.status}`);
    const job = await waitForJob(
      apiUrl,
      accepted.job_id,
      flags.timeout,
      (s) => {
        if (s !== 'QUEUED') this.progress(`job ${accepted.job_id} ${s}`);
      },
      { stream: flags.stream },
    );
    if (!this.jsonEnabled()) {
      if (job.stdout) process.stdout.write(job.stdout);
      if (job.stderr) process.stderr.write(job.stderr.endsWith('\n') ? job.stderr : `${job.stderr}\n`);
      this.progress(
        `${job.status}: exit ${job.exit_code ?? '-'}, ${job.time_used_ms ?? '-'} ms, ${job.memory_used_kb ?? '-'} KB`,
      );
    }
    if (job.status !== 'SUCCESS') {
      throw new CheckFailedError(`The job ended ${job.status}, not SUCCESS.`, {
        code: 'JOB_FAILED',
        result: job,
        suggestion: "The job's stderr and status are above (under --json: in result).",
      });
    }
    return job;
  }
}
