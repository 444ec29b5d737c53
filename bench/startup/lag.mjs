// The generator's lag self-report against an independent perf_hooks.monitorEventLoopDelay reading
// taken in the same process over the same measured period (issue 17, item 2).
//   node bench/startup/lag.mjs URL RATE DURATION   (needs `npm run build`)
// Prints both p50/p99/max in ms; monitorEventLoopDelay's values include its 10 ms resolution,
// which is subtracted (an idle loop reads the resolution, not 0).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { resolvePlan } from '../../dist/bench/cli.js';
import { buildReport } from '../../dist/bench/report/model.js';
import { runBench } from '../../dist/bench/run.js';

const [url, rate = '1000', duration = '10s'] = process.argv.slice(2);
const plan = resolvePlan(
  {
    target: url,
    method: 'GET',
    workers: 1,
    timeout: '60s',
    prime: true,
    assert: false,
    progress: 'none',
    rate: Number(rate),
    duration,
    warmup: '2s',
  },
  () => url,
);
const RES = 10;
const eld = monitorEventLoopDelay({ resolution: RES });
let on = false;
const outcome = await runBench(plan, {
  onProgress: (s) => {
    // The first progress tick in the measured period; the engine starts its own sampler at the
    // measured start, so both cover nearly the same window (this one starts up to 1 s later).
    if (!on && s.phase === 'main') {
      eld.enable();
      on = true;
    }
  },
});
eld.disable();
const r = buildReport(plan, outcome);
const ms = (v) => Math.round((v / 1e6 - RES) * 1000) / 1000;
const all = r.requests.at(-1);
console.log(
  `load: ${r.load.model} ${rate}/s for ${duration} after 2s warm-up; ${all.requests} requests, p99 ${all.latency.p99} ms`,
);
console.log(
  `self-report lag (ms):             p50 ${r.self.eventLoopLagMs.p50}  p99 ${r.self.eventLoopLagMs.p99}  max ${r.self.eventLoopLagMs.max}`,
);
console.log(
  `monitorEventLoopDelay - 10ms (ms): p50 ${ms(eld.percentile(50))}  p99 ${ms(eld.percentile(99))}  max ${ms(eld.max)}`,
);
console.log(`warnings: ${r.warnings.length ? r.warnings.join(' | ') : 'none'}`);
