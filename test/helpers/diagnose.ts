/** Running `diagnose --once --json` against a test stack, as the diagnose integration tests do. */
import { expect } from 'vitest';
import type { DiagnoseReport, Finding } from '../../src/diagnose/types.js';
import { cliJson } from './cli.js';

/**
 * `diagnose --once --json` on the stack selected by `stackArgs` (its --state-dir/--port-offset),
 * two samples 500 ms apart, plus `extra` flags; fails the test when there is no report.
 */
export async function diagnoseOnce(stackArgs: string[], ...extra: string[]): Promise<DiagnoseReport> {
  const r = await cliJson<DiagnoseReport>([
    'diagnose',
    ...stackArgs,
    '--once',
    '--sample-interval',
    '500ms',
    ...extra,
  ]);
  expect(r.json?.result, r.stderr).toBeDefined();
  return r.json.result;
}

/** The finding with this id, if the report has one. */
export const findingById = (r: DiagnoseReport, id: string): Finding | undefined =>
  r.findings.find((f) => f.id === id);
