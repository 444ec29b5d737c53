import {
  closeSync,
  fchmodSync,
  fsyncSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

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
