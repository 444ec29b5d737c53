/**
 * Debug logging to stderr, switched on with DEBUG=sentinel* (or DEBUG=*), as oclif's own.
 * Cheap when off: the pattern is read once.
 */
const pattern = process.env.DEBUG ?? '';
const enabled = (scope: string) =>
  pattern
    .split(',')
    .some((p) => p === '*' || p === 'sentinel*' || p === `sentinel:${scope}` || p === 'sentinel:*');

export function debug(scope: string, message: string): void {
  if (pattern && enabled(scope)) process.stderr.write(`sentinel:${scope} ${message}\n`);
}
