import { render } from 'ink';
import { createElement } from 'react';
import type { ProgressSnapshot } from '../run.js';
import { BenchProgress } from './BenchProgress.js';

export interface ProgressView {
  update(snapshot: ProgressSnapshot): void;
  note(message: string): void;
  stop(): void;
}

/**
 * Mounts the live ink view on stderr (stdout stays for the results). Ctrl-C is left to the
 * signal handler of the run, which stops gracefully and still prints the summary.
 */
export function renderProgress(stream: NodeJS.WriteStream = process.stderr): ProgressView {
  const notes: string[] = [];
  let snapshot: ProgressSnapshot | undefined;
  const app = render(createElement(BenchProgress, { snapshot, notes: [...notes] }), {
    stdout: stream,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  const redraw = () => app.rerender(createElement(BenchProgress, { snapshot, notes: [...notes] }));
  return {
    update(s) {
      snapshot = s;
      redraw();
    },
    note(message) {
      notes.push(message);
      redraw();
    },
    stop() {
      app.unmount();
    },
  };
}
