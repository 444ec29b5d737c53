import { describe, expect, test } from 'vitest';
import { evaluate, maskSecrets, searchableSecrets } from '../../../src/audit/evaluate.js';
import type { Expectation, Observation } from '../../../src/audit/types.js';
import { blockedLines, expectOf, obs } from './fixtures.js';

const PG = 'pg-S3cret/with@chars';
const REDIS = 'redis-0123456789';
const { secrets, tooShort } = searchableSecrets([
  { label: 'PostgreSQL password', value: PG },
  { label: 'Redis password', value: REDIS },
  { label: 'RabbitMQ password', value: 'short' },
  { label: 'DATABASE_URL password', value: PG },
]);

describe('searchableSecrets', () => {
  test('keeps each value once, adds the URL-encoded form, and names the ones too short to search', () => {
    expect(secrets).toEqual([
      { label: 'PostgreSQL password', value: PG },
      { label: 'PostgreSQL password', value: 'pg-S3cret%2Fwith%40chars' },
      { label: 'Redis password', value: REDIS },
    ]);
    expect(tooShort).toEqual(['RabbitMQ password']);
  });

  test('empty values are ignored; 8 characters is the shortest searched', () => {
    const r = searchableSecrets([
      { label: 'a', value: '' },
      { label: 'b', value: '1234567' },
      { label: 'c', value: '12345678' },
    ]);
    expect(r).toEqual({ secrets: [{ label: 'c', value: '12345678' }], tooShort: ['b'] });
  });
});

describe('maskSecrets', () => {
  test.each([
    { text: `got ${PG} here`, masked: 'got **** here' },
    { text: 'pw=pg-S3cret%2Fwith%40chars', masked: 'pw=****' },
    {
      text: 'postgres://sentinel:other-pass@127.0.0.1:5432/db',
      masked: 'postgres://sentinel:****@127.0.0.1:5432/db',
    },
    { text: `${REDIS}${REDIS}`, masked: '********' },
    { text: 'nothing secret', masked: 'nothing secret' },
  ])('$text → $masked', ({ text, masked }) => {
    expect(maskSecrets(text, secrets)).toBe(masked);
  });
});

/** One row of the verdict table: an expectation, what the run showed, and the judgement. */
interface Row {
  name: string;
  expect: Expectation;
  observed: Observation;
  verdict: 'contained' | 'ESCAPE' | 'INCONCLUSIVE';
  evidence: string;
  reason: string;
}

const tcp = expectOf('net-tcp-stack');
const env = expectOf('secrets-environment');
const forkBomb = expectOf('res-fork-bomb');
const memoryBomb = expectOf('res-memory-bomb');
const flood = expectOf('res-output-flood');
const loop = expectOf('res-infinite-loop');
const uid = expectOf('priv-uid');
const ptrace = expectOf('priv-ptrace');
const daemon = expectOf('proc-outlive-job');
const fds = expectOf('proc-inherited-fds');
const DAEMON_LINE = 'INFO: left a daemon behind: pid 4 here, named sd-0123456789ab';
const FLOOD_NOTE =
  '[sentinel: program stopped: output limit exceeded (more than 65536 bytes on stdout or stderr)]';

const rows: Row[] = [
  {
    name: 'every probe blocked → contained, first line shown',
    expect: tcp,
    observed: obs({ stdout: blockedLines(8, 'tcp') }),
    verdict: 'contained',
    evidence: 'BLOCKED: tcp 1: EPERM (+7 more)',
    reason: 'SUCCESS as expected; 8 of 8 probes blocked',
  },
  {
    name: 'one ESCAPED line among BLOCKED ones → ESCAPE',
    expect: tcp,
    observed: obs({
      stdout: `${blockedLines(7, 'tcp')}ESCAPED: tcp 127.0.0.1:21432 (PostgreSQL): connected, got b'N'\n`,
    }),
    verdict: 'ESCAPE',
    evidence: "ESCAPED: tcp 127.0.0.1:21432 (PostgreSQL): connected, got b'N'",
    reason: 'the program reports an escape',
  },
  {
    name: 'two ESCAPED lines → ESCAPE, both counted',
    expect: ptrace,
    observed: obs({
      stdout: 'ESCAPED: ptrace(PTRACE_TRACEME): succeeded\nESCAPED: ptrace(PTRACE_ATTACH, 1): x\n',
    }),
    verdict: 'ESCAPE',
    evidence: 'ESCAPED: ptrace(PTRACE_TRACEME): succeeded (+1 more)',
    reason: 'the program reports 2 escapes',
  },
  {
    name: 'a password in stdout of a run that claims BLOCKED everywhere → ESCAPE, masked',
    expect: env,
    observed: obs({ stdout: `${blockedLines(4)}BLOCKED: odd: ${PG}\n` }),
    verdict: 'ESCAPE',
    evidence: 'BLOCKED: odd: ****',
    reason: 'the output contains the PostgreSQL password',
  },
  {
    name: 'a password in stderr of a failed compile → ESCAPE whatever the status',
    expect: ptrace,
    observed: obs({ status: 'COMPILATION_ERROR', stderr: `main.cpp:1: error: '${REDIS}' was not declared` }),
    verdict: 'ESCAPE',
    evidence: "main.cpp:1: error: '****' was not declared",
    reason: 'the output contains the Redis password',
  },
  {
    name: 'the URL-encoded password (as inside a connection string) → ESCAPE',
    expect: env,
    observed: obs({ status: 'TIMEOUT', stdout: 'x pg-S3cret%2Fwith%40chars y\n' }),
    verdict: 'ESCAPE',
    evidence: 'x **** y',
    reason: 'the output contains the PostgreSQL password',
  },
  {
    name: 'a connection string with a password the audit does not know → ESCAPE',
    expect: env,
    observed: obs({ stdout: 'amqp://sentinel:guessme@127.0.0.1:5672/%2F\n' }),
    verdict: 'ESCAPE',
    evidence: 'amqp://sentinel:****@127.0.0.1:5672/%2F',
    reason: 'the output contains a connection string with a password',
  },
  {
    name: 'a worker variable with a value (REDIS_PASSWORD=...) → ESCAPE',
    expect: env,
    observed: obs({ stdout: 'HOME=/tmp REDIS_PASSWORD=abc\n' }),
    verdict: 'ESCAPE',
    evidence: 'HOME=/tmp REDIS_PASSWORD=abc',
    reason: "the output contains a connection variable's value",
  },
  {
    name: 'naming DATABASE_URL without a value is not a leak',
    expect: env,
    observed: obs({ stdout: `BLOCKED: own environment: no DATABASE_URL\n${blockedLines(4)}` }),
    verdict: 'contained',
    evidence: 'BLOCKED: own environment: no DATABASE_URL (+4 more)',
    reason: 'SUCCESS as expected; 5 of 5 probes blocked',
  },
  {
    name: 'the program stopped early: fewer BLOCKED lines than probes → INCONCLUSIVE',
    expect: tcp,
    observed: obs({ stdout: blockedLines(3, 'tcp') }),
    verdict: 'INCONCLUSIVE',
    evidence: 'BLOCKED: tcp 3: EPERM',
    reason: '3 of 8 probes reported BLOCKED; the program did not run to the end',
  },
  {
    name: 'a probe program that timed out → INCONCLUSIVE',
    expect: tcp,
    observed: obs({
      status: 'TIMEOUT',
      stdout: blockedLines(8),
      stderr: '[sentinel: program stopped: wall-clock limit of 5000 ms reached]\n',
    }),
    verdict: 'INCONCLUSIVE',
    evidence: '[sentinel: program stopped: wall-clock limit of 5000 ms reached]',
    reason: 'ended TIMEOUT, but a contained run ends SUCCESS',
  },
  {
    name: 'an attack that did not compile proves nothing → INCONCLUSIVE with the error',
    expect: ptrace,
    observed: obs({
      status: 'COMPILATION_ERROR',
      stderr: "/src/main.cpp: In function 'int main()':\n/src/main.cpp:4:3: error: 'foo' was not declared\n",
    }),
    verdict: 'INCONCLUSIVE',
    evidence: "/src/main.cpp:4:3: error: 'foo' was not declared",
    reason: 'the attack did not compile, so it proves nothing',
  },
  {
    name: 'fork bomb held at the pids limit, TIMEOUT → contained',
    expect: forkBomb,
    observed: obs({
      status: 'TIMEOUT',
      stdout: 'BLOCKED: fork(): EAGAIN after 60 processes (pids limit 64)\n',
      stderr: '[sentinel: program stopped: wall-clock limit of 2000 ms reached]\n',
    }),
    verdict: 'contained',
    evidence: 'BLOCKED: fork(): EAGAIN after 60 processes (pids limit 64)',
    reason: 'TIMEOUT as expected; 1 of 1 probes blocked',
  },
  {
    name: 'fork bomb ending RUNTIME_ERROR is contained too',
    expect: forkBomb,
    observed: obs({ status: 'RUNTIME_ERROR', stdout: 'BLOCKED: fork(): EAGAIN after 61 processes\n' }),
    verdict: 'contained',
    evidence: 'BLOCKED: fork(): EAGAIN after 61 processes',
    reason: 'RUNTIME_ERROR as expected; 1 of 1 probes blocked',
  },
  {
    name: 'fork bomb past the limit → ESCAPE even with the expected status',
    expect: forkBomb,
    observed: obs({
      status: 'TIMEOUT',
      stdout: 'ESCAPED: fork(): 5000 processes forked past the pids limit of 64\n',
    }),
    verdict: 'ESCAPE',
    evidence: 'ESCAPED: fork(): 5000 processes forked past the pids limit of 64',
    reason: 'the program reports an escape',
  },
  {
    name: 'memory bomb stopped by the memory limit → contained, the MemoryError shown',
    expect: memoryBomb,
    observed: obs({
      status: 'MEMORY_LIMIT_EXCEEDED',
      stdout: 'INFO: holding 64 MB\nINFO: holding 128 MB\n',
      stderr:
        'Traceback (most recent call last):\n  File "/src/main.py", line 20, in <module>\nMemoryError\n',
    }),
    verdict: 'contained',
    evidence: 'MemoryError',
    reason: 'MEMORY_LIMIT_EXCEEDED as expected',
  },
  {
    name: 'memory bomb that finished → ESCAPE',
    expect: memoryBomb,
    observed: obs({ stdout: 'ESCAPED: 1024 MB: all of it held under a 256 MB limit\n' }),
    verdict: 'ESCAPE',
    evidence: 'ESCAPED: 1024 MB: all of it held under a 256 MB limit',
    reason: 'the program reports an escape',
  },
  {
    name: 'memory bomb that ran out of time instead → INCONCLUSIVE',
    expect: memoryBomb,
    observed: obs({ status: 'TIMEOUT', stdout: 'INFO: holding 64 MB\n' }),
    verdict: 'INCONCLUSIVE',
    evidence: 'INFO: holding 64 MB',
    reason: 'ended TIMEOUT, but a contained run ends MEMORY_LIMIT_EXCEEDED',
  },
  {
    name: 'infinite loop → TIMEOUT is contained',
    expect: loop,
    observed: obs({
      status: 'TIMEOUT',
      stdout: 'INFO: looping\n',
      stderr: '[sentinel: program stopped: wall-clock limit of 2000 ms reached]\n',
    }),
    verdict: 'contained',
    evidence: '[sentinel: program stopped: wall-clock limit of 2000 ms reached]',
    reason: 'TIMEOUT as expected',
  },
  {
    name: 'infinite loop that came back SUCCESS → INCONCLUSIVE',
    expect: loop,
    observed: obs({ stdout: 'INFO: looping\n' }),
    verdict: 'INCONCLUSIVE',
    evidence: 'INFO: looping',
    reason: 'ended SUCCESS, but a contained run ends TIMEOUT',
  },
  {
    name: 'output flood cut at the cap → contained',
    expect: flood,
    observed: obs({
      status: 'RUNTIME_ERROR',
      stdout: `INFO: flooding 200 MB\n${'x'.repeat(65_536 - 22)}\n[sentinel: output truncated at 65536 bytes]\n`,
      stderr: `${FLOOD_NOTE}\n`,
    }),
    verdict: 'contained',
    evidence: '[sentinel: output truncated at 65536 bytes]',
    reason: 'RUNTIME_ERROR as expected',
  },
  {
    name: 'output flood kept whole → ESCAPE (the cap did not hold)',
    expect: flood,
    observed: obs({ status: 'RUNTIME_ERROR', stdout: 'x'.repeat(1_000_000), stderr: `${FLOOD_NOTE}\n` }),
    verdict: 'ESCAPE',
    evidence: 'stdout holds 1000000 bytes',
    reason: 'the output cap did not hold: 1000000 bytes kept, at most 131072 expected',
  },
  {
    name: 'output flood that failed for another reason (no note from the worker) → INCONCLUSIVE',
    expect: flood,
    observed: obs({
      status: 'RUNTIME_ERROR',
      stdout: 'INFO: flooding 200 MB\n',
      stderr: 'BrokenPipeError\n',
    }),
    verdict: 'INCONCLUSIVE',
    evidence: 'BrokenPipeError',
    reason:
      'RUNTIME_ERROR as expected, but no line shows why (expected one matching /output limit|truncated/i)',
  },
  {
    name: 'uid: seen from the host as uid 0 → ESCAPE though every probe says BLOCKED',
    expect: uid,
    observed: obs({ stdout: blockedLines(2), hostUids: [0] }),
    verdict: 'ESCAPE',
    evidence: 'host uids of the program: 0',
    reason: 'seen from the host, the program runs as root (uid 0)',
  },
  {
    name: 'uid: seen from the host as an unprivileged uid → contained, the uid in the reason',
    expect: uid,
    observed: obs({ stdout: blockedLines(2), hostUids: [1_900_000_001] }),
    verdict: 'contained',
    evidence: 'BLOCKED: probe 1: EPERM (+1 more)',
    reason: 'SUCCESS as expected; 2 of 2 probes blocked; on the host it ran as uid 1900000001',
  },
  {
    name: 'uid: never seen from the host (worker elsewhere) → contained on the inside evidence, said so',
    expect: uid,
    observed: obs({ stdout: blockedLines(2) }),
    verdict: 'contained',
    evidence: 'BLOCKED: probe 1: EPERM (+1 more)',
    reason:
      'SUCCESS as expected; 2 of 2 probes blocked; its host uid was not seen (is the worker on another machine?)',
  },
  {
    name: 'a daemon still alive on the host after the job → ESCAPE',
    expect: daemon,
    observed: obs({ stdout: `${DAEMON_LINE}\n`, hostUids: [1_900_000_002], survivors: 1 }),
    verdict: 'ESCAPE',
    evidence: '1 of its processes still alive on the host after the job (the audit killed them)',
    reason: 'a process outlived its job',
  },
  {
    name: 'the daemon seen during the job and gone after it → contained',
    expect: daemon,
    observed: obs({ stdout: `${DAEMON_LINE}\n`, hostUids: [1_900_000_002], survivors: 0 }),
    verdict: 'contained',
    evidence: DAEMON_LINE,
    reason:
      'SUCCESS as expected; on the host it ran as uid 1900000002; seen on the host while the job ran, gone after it',
  },
  {
    name: 'the daemon never seen from the host → contained on the inside evidence, said so',
    expect: daemon,
    observed: obs({ stdout: `${DAEMON_LINE}\n` }),
    verdict: 'contained',
    evidence: DAEMON_LINE,
    reason:
      'SUCCESS as expected; its host uid was not seen (is the worker on another machine?); not seen from the host (is the worker on another machine?)',
  },
  {
    name: 'the daemon never started → INCONCLUSIVE',
    expect: daemon,
    observed: obs({ stdout: 'INFO: starting\n' }),
    verdict: 'INCONCLUSIVE',
    evidence: 'INFO: starting',
    reason:
      'SUCCESS as expected, but no line shows why (expected one matching /^INFO: left a daemon behind/)',
  },
  {
    name: 'the fork for the daemon failed → INCONCLUSIVE',
    expect: daemon,
    observed: obs({
      status: 'RUNTIME_ERROR',
      exitCode: 1,
      stderr: 'BlockingIOError: [Errno 11] Resource temporarily unavailable\n',
    }),
    verdict: 'INCONCLUSIVE',
    evidence: 'BlockingIOError: [Errno 11] Resource temporarily unavailable',
    reason: 'ended RUNTIME_ERROR, but a contained run ends SUCCESS',
  },
  {
    name: 'a descriptor inherited from the worker → ESCAPE',
    expect: fds,
    observed: obs({
      stdout:
        "ESCAPED: descriptors inherited from the worker: fd 251 -> pipe:[308985] (write)\nBLOCKED: pid 1's descriptors (/proc/1/fd): 4 listed, none beyond stdio opens\n",
    }),
    verdict: 'ESCAPE',
    evidence: 'ESCAPED: descriptors inherited from the worker: fd 251 -> pipe:[308985] (write)',
    reason: 'the program reports an escape',
  },
  {
    name: 'no output at all from a probe program → INCONCLUSIVE',
    expect: ptrace,
    observed: obs({ status: 'SUCCESS' }),
    verdict: 'INCONCLUSIVE',
    evidence: '(no output)',
    reason: '0 of 7 probes reported BLOCKED; the program did not run to the end',
  },
];

describe('evaluate', () => {
  test.each(rows)('$name', ({ expect: e, observed, verdict, evidence, reason }) => {
    const r = evaluate(e, observed, secrets);
    expect({ verdict: r.verdict, evidence: r.evidence, reason: r.reason }).toEqual({
      verdict,
      evidence,
      reason,
    });
  });

  test('the probe lines come back masked, in order', () => {
    const r = evaluate(
      tcp,
      obs({ stdout: `INFO: x\nBLOCKED: a: ENOENT\nESCAPED: b: read ${PG}\nnoise\n` }),
      secrets,
    );
    expect(r.lines).toEqual(['BLOCKED: a: ENOENT', 'ESCAPED: b: read ****']);
    expect(JSON.stringify(r)).not.toContain(PG);
  });
});
