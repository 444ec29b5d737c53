import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';

/** The last `lines` lines of a file, reading only its end (logs can be large). */
export function lastLines(file: string, lines: number): string {
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  try {
    let chunk = 64 * 1024;
    let text = '';
    while (true) {
      const start = Math.max(0, size - chunk);
      const buf = Buffer.alloc(size - start);
      readSync(fd, buf, 0, buf.length, start);
      text = buf.toString('utf8');
      const count = text.split('\n').length - 1;
      if (count > lines || start === 0) break;
      chunk *= 4;
    }
    const all = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
    return all.slice(-lines).join('\n');
  } finally {
    closeSync(fd);
  }
}

/**
 * Prints what is appended to `file` until the signal aborts, like `tail -F`: a truncated or
 * re-created file is read again from its start.
 */
export async function follow(file: string, write: (s: string) => void, signal: AbortSignal): Promise<void> {
  let offset = existsSync(file) ? statSync(file).size : 0;
  while (!signal.aborted) {
    await new Promise((r) => setTimeout(r, 250));
    if (!existsSync(file)) continue;
    const size = statSync(file).size;
    if (size < offset) offset = 0;
    if (size === offset) continue;
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      readSync(fd, buf, 0, buf.length, offset);
      offset = size;
      write(buf.toString('utf8'));
    } finally {
      closeSync(fd);
    }
  }
}
