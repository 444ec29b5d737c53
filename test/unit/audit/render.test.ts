import { beforeAll, describe, expect, test } from 'vitest';
import { parseUids } from '../../../src/audit/host-watch.js';
import { clip, observed, renderAuditTable, renderSummary } from '../../../src/audit/render.js';
import type { AuditReport } from '../../../src/audit/types.js';
import { setWide } from '../../../src/lib/terminal.js';

// The layout under test, whole: fitting to the terminal is tested in test/unit/lib/table.test.ts.
beforeAll(() => setWide(true));

const report: AuditReport = {
  apiUrl: 'http://127.0.0.1:24080',
  durationMs: 41_200,
  warnings: [],
  summary: { total: 3, contained: 2, escapes: 1, inconclusive: 0 },
  rows: [
    {
      id: 'net-tcp-stack',
      category: 'network',
      attack: "TCP to the stack's own ports",
      language: 'python',
      expected: 'every connection refused',
      status: 'SUCCESS',
      verdict: 'contained',
      evidence: 'BLOCKED: tcp 127.0.0.1:21432 (PostgreSQL): ECONNREFUSED (+7 more)',
      reason: 'SUCCESS as expected; 8 of 8 probes blocked',
      lines: [],
    },
    {
      id: 'priv-uid',
      category: 'privilege',
      attack: 'uid 0 check',
      language: 'cpp',
      expected: 'not root',
      status: 'SUCCESS',
      verdict: 'ESCAPE',
      evidence: 'host uids of the program: 0',
      reason: 'seen from the host, the program runs as root (uid 0)',
      lines: [],
    },
    {
      id: 'host-canaries',
      category: 'network',
      attack: 'host canaries',
      language: '-',
      expected: 'no contact',
      status: '-',
      verdict: 'contained',
      evidence: '0 TCP connections, 0 UDP datagrams, 0 unix connections',
      reason: 'no sandbox reached the host',
      lines: [],
    },
  ],
};

describe('report rendering', () => {
  test('the table: attack, language, expected, observed (status + evidence), verdict with its reason', () => {
    expect(renderAuditTable(report)).toBe(
      [
        'ATTACK         LANG    EXPECTED                  OBSERVED                                                                    VERDICT',
        '-------------  ------  ------------------------  --------------------------------------------------------------------------  ------------------------------------------------------------',
        'net-tcp-stack  python  every connection refused  SUCCESS: BLOCKED: tcp 127.0.0.1:21432 (PostgreSQL): ECONNREFUSED (+7 more)  contained',
        'priv-uid       cpp     not root                  SUCCESS: host uids of the program: 0                                        ESCAPE: seen from the host, the program runs as root (uid 0)',
        'host-canaries  -       no contact                0 TCP connections, 0 UDP datagrams, 0 unix connections                      contained',
      ].join('\n'),
    );
  });

  test('the summary line', () => {
    expect(renderSummary(report)).toBe(
      '3 rows: 2 contained, 1 escape, 0 inconclusive (41.2 s against http://127.0.0.1:24080)',
    );
  });

  test.each([
    { text: 'short', max: 10, out: 'short' },
    { text: 'exactly 10', max: 10, out: 'exactly 10' },
    { text: 'one more char', max: 10, out: 'one more …' },
    { text: 'multi\nline\ttext', max: 40, out: 'multi line text' },
  ])('clip($text, $max) → $out', ({ text, max, out }) => {
    expect(clip(text, max)).toBe(out);
  });

  test('observed leaves out the status of rows without a job', () => {
    expect(observed(report.rows[2]!)).toBe('0 TCP connections, 0 UDP datagrams, 0 unix connections');
  });
});

describe('parseUids', () => {
  test.each([
    {
      status: 'Name:\tsa-x\nUid:\t1900000001\t1900000001\t1900000001\t1900000001\n',
      uids: [1_900_000_001, 1_900_000_001],
    },
    { status: 'Uid:\t0\t1000\t0\t0\n', uids: [0, 1000] },
    { status: 'Name:\tx\n', uids: [] },
  ])('$uids', ({ status, uids }) => {
    expect(parseUids(status)).toEqual(uids);
  });
});
