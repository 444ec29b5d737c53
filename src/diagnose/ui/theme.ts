import type { Severity } from '../types.js';

/** Colours carry severity only: red critical, yellow warning, cyan info, green healthy. */
export const severityColor: Record<Severity, string> = { critical: 'red', warning: 'yellow', info: 'cyan' };
export const severityTag: Record<Severity, string> = { critical: 'CRIT', warning: 'WARN', info: 'INFO' };
