import { describe, expect, test } from 'vitest';
import type { AuditReport, AuditRow, Verdict } from '../../../src/audit/types.js';
import { AuditFailedError } from '../../../src/commands/audit/sandbox.js';

const row = (id: string, verdict: Verdict): AuditRow => ({
  id,
  category: 'network',
  attack: id,
  language: 'python',
  expected: '-',
  status: 'SUCCESS',
  verdict,
  evidence: '-',
  reason: '-',
  lines: [],
});

const report = (rows: AuditRow[]): AuditReport => ({
  apiUrl: 'http://127.0.0.1:8080',
  rows,
  summary: { total: rows.length, contained: 0, escapes: 0, inconclusive: 0 },
  durationMs: 0,
  warnings: [],
});

describe('AuditFailedError', () => {
  test.each([
    {
      rows: [row('a', 'contained'), row('net-udp', 'ESCAPE')],
      message: 'Escape found: net-udp.',
      code: 'ESCAPE_FOUND',
    },
    {
      rows: [row('net-udp', 'ESCAPE'), row('priv-uid', 'ESCAPE'), row('fs-devices', 'INCONCLUSIVE')],
      message: 'Escapes found: net-udp, priv-uid. Containment not shown for: fs-devices.',
      code: 'ESCAPE_FOUND',
    },
    {
      rows: [row('res-memory-split', 'INCONCLUSIVE')],
      message: 'Containment not shown for: res-memory-split.',
      code: 'AUDIT_INCONCLUSIVE',
    },
  ])('$message', ({ rows, message, code }) => {
    const e = new AuditFailedError(report(rows));
    expect({ message: e.message, code: e.code, exitCode: e.exitCode }).toEqual({
      message,
      code,
      exitCode: 1,
    });
  });
});
