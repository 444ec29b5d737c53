import { render } from 'ink';
import { createElement } from 'react';
import type { DiagnoseReport } from '../types.js';
import { DiagnoseApp, type DiagnoseSource } from './DiagnoseApp.js';

export type { DiagnoseSource };

export interface RenderOptions {
  intervalMs: number;
  taskQueue: string;
  /** The terminal to draw on (stderr: stdout is for results). */
  stream?: NodeJS.WriteStream;
}

/**
 * Runs the interactive view on the terminal's alternate screen until the user quits, and resolves
 * with the last report (so the exit code can follow it). The command never touches React.
 */
export async function renderDiagnose(
  source: DiagnoseSource,
  options: RenderOptions,
): Promise<DiagnoseReport | undefined> {
  const stream = options.stream ?? process.stderr;
  let last: DiagnoseReport | undefined;
  stream.write('\x1b[?1049h\x1b[H');
  try {
    const app = render(
      createElement(DiagnoseApp, {
        source,
        intervalMs: options.intervalMs,
        taskQueue: options.taskQueue,
        onExit: (r) => {
          last = r;
        },
      }),
      { stdout: stream, exitOnCtrlC: false, patchConsole: false },
    );
    await app.waitUntilExit();
  } finally {
    stream.write('\x1b[?1049l');
  }
  return last;
}
