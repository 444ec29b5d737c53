import {
  closeSync,
  fchmodSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { UserError } from './errors.js';

/**
 * Writes a file so that readers see either the old or the new content, never a mix: a temp file
 * in the same directory, fsync, rename. The mode of an existing file is kept unless one is given.
 */
export function writeFileAtomic(file: string, content: string | Uint8Array, mode?: number): void {
  let keepMode = mode;
  if (keepMode === undefined) {
    try {
      keepMode = statSync(file).mode & 0o7777;
    } catch {
      keepMode = 0o644;
    }
  }
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(tmp, 'w', keepMode);
  try {
    fchmodSync(fd, keepMode);
    writeSync(fd, typeof content === 'string' ? Buffer.from(content) : content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, file);
  } catch (error) {
    try {
      unlinkSync(tmp);
    } catch {}
    throw error;
  }
}

/** One line: a message that quotes file content (a JSON parse error) must not break the error line. */
function oneLine(text: string, max = 100): string {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * Reads a file the user named (a report, a config, a source file) or says in one line why it
 * cannot (exit 2 with a hint): empty path, missing, a directory, unreadable, empty file.
 * `what` names what the file should hold ("a bench JSON report").
 */
export function readInputFile(
  file: string,
  what: string,
  opts: { code?: string; suggestion?: string; allowEmpty?: boolean } = {},
): string {
  const fail = (message: string): never => {
    throw new UserError(message, {
      code: opts.code ?? 'INPUT_FILE',
      suggestion: opts.suggestion ?? `Pass the path of ${what}.`,
    });
  };
  if (file.trim() === '') fail(`An empty path was given where ${what} was expected.`);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail(`${file} does not exist (expected ${what}).`);
    if (code === 'EISDIR') fail(`${file} is a directory, not ${what}.`);
    if (code === 'EACCES' || code === 'EPERM') fail(`${file} cannot be read: permission denied.`);
    fail(`Cannot read ${file}: ${code ?? oneLine(String(error))}.`);
  }
  if (!opts.allowEmpty && text.trim() === '') fail(`${file} is empty (expected ${what}).`);
  return text;
}

/** readInputFile, then JSON.parse; a parse error is one line naming the file. */
export function readJsonInput(
  file: string,
  what: string,
  opts: { code?: string; suggestion?: string } = {},
): unknown {
  const text = readInputFile(file, what, opts);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UserError(`${file} is not JSON (expected ${what}): ${oneLine((error as Error).message)}.`, {
      code: opts.code ?? 'INPUT_FILE',
      suggestion: opts.suggestion ?? `Pass the path of ${what}.`,
    });
  }
}
