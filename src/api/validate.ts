import { z } from 'zod';

/** POST /api/v1/submissions, as DESIGN.md "The stack contract" defines it. */
export const MAX_SOURCE_BYTES = 64 * 1024;

export function submissionSchema(defaults: { timeLimitMs: number; memoryLimitKb: number }) {
  return z.object({
    language: z.enum(['python', 'cpp'], { error: 'language must be "python" or "cpp"' }),
    source_code: z.string({ error: 'source_code must be a string' }).min(1, 'source_code is empty'),
    stdin: z.string({ error: 'stdin must be a string' }).optional().default(''),
    time_limit_ms: z
      .number({ error: 'time_limit_ms must be a number' })
      .int('time_limit_ms must be an integer')
      .min(1, 'time_limit_ms must be at least 1')
      .max(10_000, 'time_limit_ms must be at most 10000')
      .optional()
      .default(defaults.timeLimitMs),
    memory_limit_kb: z
      .number({ error: 'memory_limit_kb must be a number' })
      .int('memory_limit_kb must be an integer')
      .min(1024, 'memory_limit_kb must be at least 1024')
      .max(1_048_576, 'memory_limit_kb must be at most 1048576')
      .optional()
      .default(defaults.memoryLimitKb),
  });
}

export type Submission = z.infer<ReturnType<typeof submissionSchema>>;

export type ValidationResult =
  | { ok: true; submission: Submission }
  | { ok: false; status: 400 | 413; error: string };

/** Parses and checks a request body; 413 for a source over 64 KB, 400 for everything else. */
export function validateSubmission(
  body: string,
  defaults: { timeLimitMs: number; memoryLimitKb: number },
): ValidationResult {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return { ok: false, status: 400, error: 'request body is not valid JSON' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, status: 400, error: 'request body must be a JSON object' };
  }
  const source = (data as { source_code?: unknown }).source_code;
  if (typeof source === 'string' && Buffer.byteLength(source) > MAX_SOURCE_BYTES) {
    return { ok: false, status: 413, error: `source_code is larger than ${MAX_SOURCE_BYTES / 1024} KB` };
  }
  const r = submissionSchema(defaults).safeParse(data);
  if (!r.success) return { ok: false, status: 400, error: r.error.issues[0]!.message };
  return { ok: true, submission: r.data };
}
