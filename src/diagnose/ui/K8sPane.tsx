import { Box, Text } from 'ink';
import type { Finding, KubernetesView, PodRow } from '../types.js';
import { severityColor, severityTag } from './theme.js';

/** 42s, 7m, 3h, 2d: as kubectl prints ages. */
export function age(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, Math.max(0, n - 1))}…` : s.padEnd(n));

/** Column widths of the pods list for a terminal width. */
export function podColumns(width: number): { name: number; status: number } {
  const wide = width >= 120;
  return { name: wide ? 40 : 20, status: wide ? 24 : 16 };
}

/** The pods pane's title line, which carries the column names. */
export function PodsTitle({
  count,
  width,
  active,
  range,
}: {
  count: number;
  width: number;
  active: boolean;
  range: string;
}) {
  const c = podColumns(width);
  const title = `PODS ${count}${range}`;
  return (
    <Box width={width}>
      <Text wrap="truncate-end">
        <Text bold color={active ? 'blue' : undefined}>
          {cut(title, c.name + 1)}
        </Text>
        <Text dimColor>
          {' '}
          {'STATUS'.padEnd(c.status)} {'READY'} {'RST'.padStart(3)} {'AGE'.padStart(4)} LAST TERMINATION
        </Text>
      </Text>
    </Box>
  );
}

/** One pod: status coloured by severity, restarts, age and the last termination reason. */
export function PodLine({ pod, width, selected }: { pod: PodRow; width: number; selected: boolean }) {
  const c = podColumns(width);
  return (
    <Box width={width}>
      <Text wrap="truncate-end" inverse={selected}>
        {selected ? '▸' : ' '}
        {cut(pod.name, c.name)}{' '}
        <Text color={pod.severity ? severityColor[pod.severity] : 'green'}>{cut(pod.status, c.status)}</Text>{' '}
        {pod.ready.padStart(5)} {String(pod.restarts).padStart(3)} {age(pod.ageSeconds).padStart(4)}{' '}
        {pod.lastTermination
          ? `${pod.lastTermination}${pod.lastTerminationSeconds !== null ? ` ${age(pod.lastTerminationSeconds)} ago` : ''}`
          : '-'}
      </Text>
    </Box>
  );
}

/** A pod in detail: containers with state, restarts, last termination and limits; its findings; its events. */
export function PodDetail({
  pod,
  view,
  findings,
  width,
  height,
}: {
  pod: PodRow;
  view: KubernetesView;
  findings: Finding[];
  width: number;
  height: number;
}) {
  const events = view.events[pod.name] ?? [];
  // Rows: title, subtitle, containers title + rows, scheduling, findings, events title.
  const used =
    3 + pod.containers.length + (pod.scheduling ? 1 : 0) + (findings.length ? findings.length + 1 : 0) + 1;
  const eventRows = Math.max(1, height - used);
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold>Pod/{pod.name}</Text>{' '}
        <Text color={pod.severity ? severityColor[pod.severity] : 'green'}>{pod.status}</Text>
        <Text dimColor>
          {' '}
          · ready {pod.ready} · restarts {pod.restarts} · age {age(pod.ageSeconds)} · {view.namespace}
        </Text>
      </Text>
      <Text bold>Containers</Text>
      {pod.containers.map((c) => (
        <Text key={c.name} wrap="truncate-end">
          {'  '}
          {c.name} <Text dimColor>{c.state}</Text> · restarts {c.restarts}
          {c.lastTermination ? ` · last ${c.lastTermination}` : ''}
          {c.requests && c.requests !== c.limits ? <Text dimColor> · requests {c.requests}</Text> : null}
          {c.limits ? <Text dimColor> · limits {c.limits}</Text> : null}
        </Text>
      ))}
      {pod.scheduling ? (
        <Text wrap="truncate-end" color="yellow">
          Scheduling: {pod.scheduling}
        </Text>
      ) : null}
      {findings.length ? <Text bold>Findings</Text> : null}
      {findings.map((f) => (
        <Text key={f.id} wrap="truncate-end">
          {'  '}
          <Text color={severityColor[f.severity]}>{severityTag[f.severity]}</Text> {f.title}
        </Text>
      ))}
      <Text bold>
        Events {events.length}
        <Text dimColor> (newest first)</Text>
      </Text>
      {events.length === 0 ? <Text dimColor> none recorded</Text> : null}
      {events.slice(0, eventRows).map((e) => (
        // Wrapped, not cut: the message is what the drill-down is for.
        <Text key={e.name} wrap="wrap">
          {'  '}
          <Text color={e.type === 'Warning' ? 'yellow' : undefined}>{e.type.padEnd(7)}</Text> {e.reason}{' '}
          <Text dimColor>
            ×{e.count} {age(e.ageSeconds)} ago
          </Text>{' '}
          {e.message}
        </Text>
      ))}
    </Box>
  );
}
