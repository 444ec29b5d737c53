import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../lib/errors.js';
import { writeFileAtomic } from '../../lib/fs.js';
import { historyFile, renderCsv, renderCsvHistory } from './csv.js';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { type BenchReport, toResult } from './model.js';

export const outputFormats = ['json', 'csv', 'junit', 'html'] as const;
export type OutputFormat = (typeof outputFormats)[number];

export interface OutputSpec {
  format: OutputFormat;
  file: string;
}

/** Parses `--out FORMAT=FILE` (k6's form), e.g. `json=run.json`, `html=reports/run.html`. */
export function parseOutput(text: string): OutputSpec {
  const i = text.indexOf('=');
  const format = text.slice(0, i) as OutputFormat;
  const file = text.slice(i + 1);
  if (i < 0 || !outputFormats.includes(format) || !file) {
    throw new UserError(
      `--out "${text}" is not FORMAT=FILE with FORMAT one of ${outputFormats.join(', ')}.`,
      {
        suggestion: 'Example: --out json=run.json --out html=run.html',
      },
    );
  }
  return { format, file };
}

/** Renders one output. */
export function renderOutput(format: OutputFormat, report: BenchReport): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'csv':
      return renderCsv(report);
    case 'junit':
      return renderJunit(toResult(report));
    case 'html':
      return renderHtml(toResult(report));
  }
}

/**
 * Writes every requested report atomically, creating directories; returns the paths written.
 * `csv=FILE` also writes the per-second rows to FILE_history (as Locust's stats_history file).
 */
export function writeOutputs(outputs: OutputSpec[], report: BenchReport): string[] {
  return outputs.flatMap((o) => {
    mkdirSync(path.dirname(path.resolve(o.file)), { recursive: true });
    writeFileAtomic(o.file, renderOutput(o.format, report));
    if (o.format !== 'csv') return [o.file];
    const history = historyFile(o.file);
    writeFileAtomic(history, renderCsvHistory(report));
    return [o.file, history];
  });
}
