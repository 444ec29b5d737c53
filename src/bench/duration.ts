/** bench's durations are the CLI's one duration syntax (src/lib/duration.ts). */
export { formatDuration, parseDuration } from '../lib/duration.js';
