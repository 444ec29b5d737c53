import { z } from 'zod';

/**
 * The message on `execution_tasks`: the job as JSON (docs/design.md "The stack contract"). Validated
 * on both ends: the API builds it, the worker refuses what it cannot run (to the dead-letter queue).
 */
export const jobMessageSchema = z.object({
  job_id: z.uuid(),
  language: z.enum(['python', 'cpp']),
  source_code: z.string(),
  stdin: z.string().default(''),
  time_limit_ms: z.number().int().min(1).max(10_000).default(5000),
  memory_limit_kb: z.number().int().min(1024).max(1_048_576).default(262_144),
  /** The X-Request-ID of the submission (docs/api.md "Request ids"), for the worker's log lines. */
  request_id: z.string().max(128).optional(),
});
export type JobMessage = z.infer<typeof jobMessageSchema>;

export type ParsedMessage = { ok: true; job: JobMessage } | { ok: false; reason: string; jobId?: string };

export function parseJobMessage(body: Buffer): ParsedMessage {
  let data: unknown;
  try {
    data = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  const r = jobMessageSchema.safeParse(data);
  if (r.success) return { ok: true, job: r.data };
  const issue = r.error.issues[0]!;
  const jobId =
    typeof (data as { job_id?: unknown })?.job_id === 'string'
      ? (data as { job_id: string }).job_id
      : undefined;
  return { ok: false, reason: `${issue.path.join('.') || 'body'}: ${issue.message}`, jobId };
}
