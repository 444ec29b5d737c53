import { parentPort, workerData } from 'node:worker_threads';
import { Engine, type EnginePlan, type StopReason } from './engine.js';
import { encodeHistogram } from './histogram.js';
import { MetricStore, type MetricStoreJson } from './metrics.js';
import { createRunner, type RunnerOptions } from './runners.js';
import type { ScenarioSpec } from './scenario.js';

/** What the main thread gives each worker thread. */
export interface WorkerInit {
  spec: ScenarioSpec;
  plan: EnginePlan;
  runner: RunnerOptions;
}

export type ToWorker =
  | { type: 'start'; startAt: number }
  | { type: 'stop'; reason: StopReason }
  | { type: 'kill' };

export type FromWorker =
  | { type: 'ready' }
  | {
      type: 'delta';
      warmup: MetricStoreJson | null;
      main: MetricStoreJson | null;
      vus: number;
      vusMax: number;
    }
  | {
      type: 'done';
      reason: StopReason;
      stoppedAt: number | undefined;
      warmup: MetricStoreJson | null;
      main: MetricStoreJson | null;
      vusMax: number;
      self: { eventLoopUtilization: number; eventLoopLag: string; schedulingDelay: string; primed: number };
    };

// One worker thread: runs an engine on its share of the load and sends what it measured as a
// delta every second (encoded HDR histograms), so the main thread holds the live totals.
if (parentPort) {
  const port = parentPort;
  const init = workerData as WorkerInit;
  const engine = new Engine(init.plan, createRunner(init.spec, init.runner), {
    warmup: new MetricStore(),
    main: new MetricStore(),
  });
  const json = (s: MetricStore) => (s.isEmpty() ? null : s.toJSON());
  let flusher: NodeJS.Timeout | undefined;
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'start') {
      flusher = setInterval(() => {
        const { warmup, main } = engine.takeStores();
        const st = engine.status();
        port.postMessage({
          type: 'delta',
          warmup: json(warmup),
          main: json(main),
          vus: st.vus,
          vusMax: st.vusMax,
        });
      }, 1000);
      void engine.run(msg.startAt).then(async (reason) => {
        clearInterval(flusher);
        const { warmup, main } = engine.takeStores();
        const self = engine.selfStats();
        port.postMessage({
          type: 'done',
          reason,
          stoppedAt: engine.stoppedAt,
          warmup: json(warmup),
          main: json(main),
          vusMax: engine.status().vusMax,
          self: {
            eventLoopUtilization: self.eventLoopUtilization,
            eventLoopLag: encodeHistogram(self.eventLoopLag),
            schedulingDelay: encodeHistogram(self.schedulingDelay),
            primed: self.primed,
          },
        } satisfies FromWorker);
        await engine.close();
        port.close();
      });
    } else if (msg.type === 'stop') engine.stop(msg.reason);
    else engine.kill();
  });
  void engine.prepare().then(() => port.postMessage({ type: 'ready' } satisfies FromWorker));
}
