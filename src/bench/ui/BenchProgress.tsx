import { Box, Static, Text } from 'ink';
import { formatDuration } from '../duration.js';
import { levelText } from '../progress.js';
import { fmtMs, fmtPct } from '../report/format.js';
import type { ProgressSnapshot } from '../run.js';

export interface BenchProgressProps {
  snapshot?: ProgressSnapshot;
  /** Finished lines (notes such as "Stopping...") stay above the live block. */
  notes: string[];
}

const BAR = 30;

/** The live view of a run: a progress bar, the current level, throughput, p95 and errors. */
export function BenchProgress({ snapshot: s, notes }: BenchProgressProps) {
  return (
    <>
      <Static items={notes.map((n, i) => ({ n, i }))}>{(item) => <Text key={item.i}>{item.n}</Text>}</Static>
      {s ? (
        <Box flexDirection="column">
          <Text>
            <Text color={s.phase === 'main' ? 'green' : 'yellow'}>{s.phase.padEnd(8)}</Text>
            {'['}
            {'█'.repeat(Math.round((BAR * s.elapsedMs) / Math.max(1, s.totalMs)))}
            {'░'.repeat(BAR - Math.round((BAR * s.elapsedMs) / Math.max(1, s.totalMs)))}
            {'] '}
            {formatDuration(s.elapsedMs)}/{formatDuration(s.totalMs)}
          </Text>
          <Text>
            {levelText(s)} · <Text bold>{s.rps}</Text> req/s · p95 <Text bold>{fmtMs(s.p95)}</Text> ·{' '}
            {s.requests} requests ·{' '}
            <Text color={s.failures > 0 ? 'red' : undefined}>
              {s.failures} failed ({fmtPct(s.requests ? s.failures / s.requests : 0)})
            </Text>
            {s.dropped > 0 ? <Text color="red"> · {s.dropped} dropped</Text> : null}
          </Text>
        </Box>
      ) : (
        <Text dimColor>preparing virtual users…</Text>
      )}
    </>
  );
}
