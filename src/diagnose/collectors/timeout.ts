import { describeError } from '../../lib/errors.js';

/** A collector step that did not answer in time. */
export class CollectorTimeout extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'CollectorTimeout';
  }
}

/**
 * Races `work` against a timer; on timeout `onTimeout` runs (close the socket so nothing lingers)
 * and the promise rejects with CollectorTimeout. The timer never keeps the process alive.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new CollectorTimeout(ms));
    }, ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    // The losing promise may still reject later: keep that from surfacing as unhandled.
    work.catch(() => {});
  }
}

/** A one-line reason for a failed collection, without credentials (callers mask URLs). */
export function reason(error: unknown): string {
  // fetch() says only "fetch failed"; the socket error (ECONNREFUSED ...) is its cause.
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  if (error instanceof Error && error.message === 'fetch failed' && cause) return describeError(cause);
  return describeError(error);
}

export const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms);
  });
