import { Text } from 'ink';

const BARS = '▁▂▃▄▅▆▇█';

/** Values as block characters scaled to the largest one (all ▁ when flat at zero). */
export function sparkline(values: readonly number[], width: number): string {
  const v = values.slice(-width);
  const max = Math.max(0, ...v);
  return v.map((x) => (max <= 0 ? BARS[0] : BARS[Math.min(7, Math.round((x / max) * 7))])).join('');
}

export interface SparklineProps {
  label: string;
  values: readonly number[];
  width?: number;
  unit?: string;
}

/** `queue ▁▂▅█ 1500` — a label, the recent trend, and the latest value. */
export function Sparkline({ label, values, width = 8, unit = '' }: SparklineProps) {
  const last = values[values.length - 1];
  const shown = last === undefined ? '—' : `${Math.round(last * 10) / 10}${unit}`;
  return (
    <Text>
      <Text dimColor>{label} </Text>
      <Text color="cyan">{sparkline(values, width).padEnd(width, ' ')}</Text> {shown}
    </Text>
  );
}
