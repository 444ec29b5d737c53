import { formatDuration } from './duration.js';
import { fmtMs } from './report/format.js';
import type { ProgressSnapshot } from './run.js';

/** The level the schedule asks for, in its unit: `50 VUs` or `200/s`. */
export function levelText(s: ProgressSnapshot): string {
  return s.model === 'closed' ? `${s.vus}/${Math.round(s.target)} VUs` : `${s.target}/s (${s.vus} busy VUs)`;
}

/** One plain progress line for logs (no TTY): `[bench] 10s/1m0s main 50/50 VUs 20512 req/s p95 3.10ms 0 failed`. */
export function plainProgressLine(s: ProgressSnapshot): string {
  const dropped = s.dropped > 0 ? ` ${s.dropped} dropped` : '';
  return `[bench] ${formatDuration(s.elapsedMs)}/${formatDuration(s.totalMs)} ${s.phase} ${levelText(s)} ${s.rps} req/s p95 ${fmtMs(s.p95)} ${s.requests} requests ${s.failures} failed${dropped}`;
}
