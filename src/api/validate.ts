import { z } from 'zod';
import { jsonDepth } from './http.js';

/**
 * POST /api/v1/submissions, as docs/design.md "The stack contract" defines it; every limit here is
 * listed in docs/api.md "Limits".
 */
export const MAX_SOURCE_BYTES = 64 * 1024;
export const MAX_STDIN_BYTES = 64 * 1024;
/** Room for both fields fully JSON-escaped (a newline is two bytes in JSON) plus the rest. */
export const MAX_BODY_BYTES = 2 * (MAX_SOURCE_BYTES + MAX_STDIN_BYTES) + 16 * 1024;
/** Past this much an oversized body is no longer read and thrown away: the 413 goes out at once. */
export const DISCARD_BODY_BYTES = 64 * 1024 * 1024;
export const MAX_JSON_DEPTH = 16;
export const TIME_LIMIT_MS = { min: 1, max: 10_000 } as const;
export const MEMORY_LIMIT_KB = { min: 1024, max: 1_048_576 } as const;

const noNul = (s: string) => !s.includes('\u0000');

/** An optional whole number in [min, max] with its default; each refusal names the field. */
function limit(field: string, range: { min: number; max: number }, fallback: number) {
  return z
    .number({ error: `${field} must be a number` })
    .int(`${field} must be an integer`)
    .min(range.min, `${field} must be at least ${range.min}`)
    .max(range.max, `${field} must be at most ${range.max}`)
    .optional()
    .default(fallback);
}

export function submissionSchema(defaults: { timeLimitMs: number; memoryLimitKb: number }) {
  return z.object({
    language: z.enum(['python', 'cpp'], { error: 'language must be "python" or "cpp"' }),
    source_code: z
      .string({ error: 'source_code must be a string' })
      .refine((s) => s.trim() !== '', 'source_code is empty or only whitespace')
      .refine(noNul, 'source_code must not contain NUL bytes (PostgreSQL text cannot hold them)'),
    stdin: z
      .string({ error: 'stdin must be a string' })
      .refine(noNul, 'stdin must not contain NUL bytes (PostgreSQL text cannot hold them)')
      .optional()
      .default(''),
    time_limit_ms: limit('time_limit_ms', TIME_LIMIT_MS, defaults.timeLimitMs),
    memory_limit_kb: limit('memory_limit_kb', MEMORY_LIMIT_KB, defaults.memoryLimitKb),
  });
}

export type Submission = z.infer<ReturnType<typeof submissionSchema>>;

export type ValidationResult =
  | { ok: true; submission: Submission }
  | { ok: false; status: 400 | 413; error: string };

const OPTIONAL_FIELDS = ['stdin', 'time_limit_ms', 'memory_limit_kb'] as const;

/**
 * Parses and checks a request body: 413 for a source or stdin over its limit, 400 for everything
 * else, each with the first specific reason. `null` for an optional field means "absent", as
 * upstream's Go structs read it.
 */
export function validateSubmission(
  body: string,
  defaults: { timeLimitMs: number; memoryLimitKb: number },
): ValidationResult {
  if (body.trim() === '') return { ok: false, status: 400, error: 'request body is empty' };
  if (jsonDepth(body) > MAX_JSON_DEPTH) {
    return { ok: false, status: 400, error: `request body is nested deeper than ${MAX_JSON_DEPTH} levels` };
  }
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return { ok: false, status: 400, error: 'request body is not valid JSON' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, status: 400, error: 'request body must be a JSON object' };
  }
  const fields = { ...(data as Record<string, unknown>) };
  for (const k of OPTIONAL_FIELDS) if (fields[k] === null) delete fields[k];
  for (const [k, max] of [
    ['source_code', MAX_SOURCE_BYTES],
    ['stdin', MAX_STDIN_BYTES],
  ] as const) {
    const v = fields[k];
    if (typeof v === 'string' && Buffer.byteLength(v) > max) {
      return { ok: false, status: 413, error: `${k} is larger than ${max / 1024} KB` };
    }
  }
  const r = submissionSchema(defaults).safeParse(fields);
  if (!r.success) return { ok: false, status: 400, error: r.error.issues[0]!.message };
  return { ok: true, submission: r.data };
}
