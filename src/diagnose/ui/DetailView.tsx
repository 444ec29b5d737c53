import { Box, Text } from 'ink';
import { formatSource } from '../../tuners/types.js';
import type { ComponentSummary } from '../summary.js';
import type { Finding } from '../types.js';
import { severityColor, severityTag } from './theme.js';

function fmt(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
  return v === null ? '—' : String(v);
}

/** Everything a finding knows: evidence, bottleneck, fix, command, source, first seen. */
export function FindingDetail({ finding: f, width }: { finding: Finding; width: number }) {
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="wrap">
        <Text color={severityColor[f.severity]} bold>
          {severityTag[f.severity]}
        </Text>{' '}
        <Text bold>{f.title}</Text>
      </Text>
      <Text dimColor>
        {f.id} · {f.component}
        {f.since ? ` · since ${f.since}` : ''}
      </Text>
      <Text wrap="wrap">{f.detail}</Text>
      <Text bold>Evidence</Text>
      {Object.entries(f.evidence).map(([k, v]) => (
        // Wrapped, not cut: a query or an error message is read whole.
        <Text key={k} wrap="wrap">
          {'  '}
          <Text dimColor>{k}</Text> {fmt(v)}
        </Text>
      ))}
      <Text wrap="wrap">
        <Text bold>Bottleneck </Text>
        {f.bottleneck}
      </Text>
      <Text wrap="wrap">
        <Text bold>Fix </Text>
        {f.fix}
      </Text>
      {f.command ? (
        <Text>
          <Text bold>Run </Text>
          <Text color="green">{f.command}</Text>
        </Text>
      ) : null}
      <Text dimColor wrap="wrap">
        Source: {formatSource(f.source)}
      </Text>
    </Box>
  );
}

/** A component's numbers and the findings about it. */
export function ComponentDetail({
  summary,
  findings,
  width,
}: {
  summary: ComponentSummary;
  findings: Finding[];
  width: number;
}) {
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>
        {summary.name}{' '}
        <Text color={summary.state === 'ok' ? 'green' : 'red'}>{summary.state === 'ok' ? 'ok' : 'DOWN'}</Text>
      </Text>
      {summary.details.map((d) => (
        <Text key={d} wrap="wrap">
          {d}
        </Text>
      ))}
      <Text bold>Findings ({findings.length})</Text>
      {findings.length === 0 ? <Text color="green">none</Text> : null}
      {findings.map((f) => (
        <Text key={f.id} wrap="truncate-end">
          <Text color={severityColor[f.severity]}>{severityTag[f.severity]}</Text> {f.title}
        </Text>
      ))}
    </Box>
  );
}
