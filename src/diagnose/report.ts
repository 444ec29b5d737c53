/** The plain report (non-TTY or --once): components, then findings ranked, each with evidence and fix. */
import { formatSource } from '../tuners/types.js';
import { summaries } from './summary.js';
import type { DiagnoseReport, Finding } from './types.js';
import { describeWindow } from './windows/types.js';

/** `prefix` then `text` word-wrapped, continuation lines indented to the prefix's width. */
function hang(prefix: string, text: string, width: number): string[] {
  const pad = ' '.repeat(prefix.length);
  return wrap(text, width, pad).map((l, i) => (i === 0 ? prefix + l.slice(pad.length) : l));
}

function wrap(text: string, width: number, indent: string): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && indent.length + line.length + 1 + w.length > width) {
      lines.push(indent + line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(indent + line);
  return lines;
}

export function renderFinding(f: Finding, width = 80): string[] {
  const pad = ' '.repeat(9);
  return [
    ...hang(`${f.severity.toUpperCase().padEnd(8)} ${f.component.padEnd(8)} `, f.title, width),
    ...wrap(f.detail, width, pad),
    ...wrap(`bottleneck: ${f.bottleneck}`, width, pad),
    ...wrap(`fix: ${f.fix}${f.command ? ` → ${f.command}` : ''}`, width, pad),
    ...wrap(`source: ${formatSource(f.source)}`, width, pad),
  ];
}

export function renderReport(report: DiagnoseReport, taskQueue: string, width = 80): string {
  const c = report.counts;
  const lines = [
    `sentinel-ctl diagnose · ${report.at} · rates over ${report.windowSeconds} s`,
    `windows: ${describeWindow(report.windows.source, report.windows.historySeconds)}${report.windows.note ? ` (${report.windows.note})` : ''}`,
    report.findings.length === 0
      ? 'No findings: every component answered and nothing crossed a threshold.'
      : `${c.critical} critical, ${c.warning} warning, ${c.info} info`,
    '',
  ];
  for (const s of summaries(report, taskQueue)) {
    const state = s.state === 'ok' ? 'ok  ' : s.state === 'skipped' ? '-   ' : 'DOWN';
    lines.push(...hang(`${s.name.padEnd(9)}${state} `, s.line, width));
  }
  if (report.findings.length) {
    lines.push('', 'FINDINGS (most severe first)');
    for (const f of report.findings) lines.push('', ...renderFinding(f, width));
  }
  lines.push(
    '',
    `collected in ${report.timings.total} ms (${Object.entries(report.timings)
      .filter(([k]) => k !== 'total')
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')})`,
  );
  return lines.join('\n');
}
