import { MASK } from '../lib/redact.js';
import type { Evaluation, Expectation, Observation, Secret } from './types.js';

/**
 * Deciding containment from what a hostile program printed and how its job ended. Pure: the
 * runner gathers the observation, this judges it. The order is fail-closed: anything that proves
 * an escape wins over everything that looks like containment, and missing proof of containment is
 * never reported as contained.
 */

/** Probe lines every attack program prints, one per probe. */
const PROBE_LINE = /^(BLOCKED|ESCAPED):\s?(.*)$/;

/**
 * A secret shorter than this would match ordinary output (a password "sentinel" is also the
 * sandbox's hostname); such secrets are left out of the output search and reported as a warning.
 */
export const MIN_SECRET_LENGTH = 8;

/**
 * Passwords inside URLs (scheme://user:password@), in any scheme the stack uses: what a leaked
 * DATABASE_URL / RABBITMQ_URL / REDIS_URL / management URL looks like.
 */
const CONNECTION_STRING = /\b(?:postgres(?:ql)?|amqps?|rediss?|https?):\/\/[^\s:@/'"]*:[^\s@/'"]+@/i;
/** The worker's connection variables with a value, as an environment dump shows them. */
const ENV_ASSIGNMENT = /\b(?:DATABASE_URL|RABBITMQ_URL|REDIS_URL|[A-Z_]*PASSWORD)=\S/;

/**
 * The secrets to search for: each non-empty value once, plus its URL-encoded form when that
 * differs (a password with `/` or `@` appears encoded inside connection strings). Values shorter
 * than MIN_SECRET_LENGTH come back in `tooShort` instead.
 */
export function searchableSecrets(candidates: Secret[]): { secrets: Secret[]; tooShort: string[] } {
  const secrets: Secret[] = [];
  const tooShort: string[] = [];
  const seen = new Set<string>();
  for (const c of candidates) {
    if (!c.value) continue;
    if (c.value.length < MIN_SECRET_LENGTH) {
      if (!tooShort.includes(c.label)) tooShort.push(c.label);
      continue;
    }
    for (const value of [c.value, encodeURIComponent(c.value)]) {
      if (seen.has(value)) continue;
      seen.add(value);
      secrets.push({ label: c.label, value });
    }
  }
  return { secrets, tooShort };
}

/** The text with every secret value and every URL password replaced by the mask. */
export function maskSecrets(text: string, secrets: Secret[]): string {
  let out = text;
  // Longest first, so a secret that contains another is masked whole.
  for (const s of [...secrets].sort((a, b) => b.value.length - a.value.length)) {
    out = out.split(s.value).join(MASK);
  }
  return out.replace(/(\/\/[^\s:@/'"]*:)[^\s@/'"]+@/g, `$1${MASK}@`);
}

function linesOf(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/\r$/, ''));
}

/** The last non-empty line of a text (the usual place of an error message). */
function lastLine(text: string): string | undefined {
  return linesOf(text)
    .filter((l) => l.trim() !== '')
    .at(-1);
}

const more = (n: number) => (n > 0 ? ` (+${n} more)` : '');

/**
 * Judges one run. In order:
 * 1. the output contains a secret value, a connection string with a password, or a worker
 *    variable with a value → ESCAPE, whatever the status;
 * 2. the program printed an `ESCAPED:` line, the host saw it run as uid 0, or one of its
 *    processes outlived the job → ESCAPE;
 * 3. stdout is larger than the worker's cap allows → ESCAPE (the output limit did not hold);
 * 4. the status is not one a contained run ends with → INCONCLUSIVE;
 * 5. fewer or more `BLOCKED:` lines than probes, or the required evidence line is missing →
 *    INCONCLUSIVE;
 * 6. otherwise contained, with the evidence line that shows it.
 */
export function evaluate(expect: Expectation, observed: Observation, secrets: Secret[]): Evaluation {
  const all = `${observed.stdout}\n${observed.stderr}`;
  const allLines = linesOf(all);
  const mask = (t: string) => maskSecrets(t, secrets);
  const probes = allLines.filter((l) => PROBE_LINE.test(l));
  const blocked = probes.filter((l) => l.startsWith('BLOCKED'));
  const escaped = probes.filter((l) => l.startsWith('ESCAPED'));
  const lines = probes.map(mask);

  for (const s of secrets) {
    if (all.includes(s.value)) {
      const line = allLines.find((l) => l.includes(s.value)) ?? '';
      return {
        verdict: 'ESCAPE',
        evidence: mask(line),
        reason: `the output contains the ${s.label}`,
        lines,
      };
    }
  }
  const leak =
    allLines.find((l) => CONNECTION_STRING.test(l)) ?? allLines.find((l) => ENV_ASSIGNMENT.test(l));
  if (leak !== undefined) {
    return {
      verdict: 'ESCAPE',
      evidence: mask(leak),
      reason: CONNECTION_STRING.test(leak)
        ? 'the output contains a connection string with a password'
        : "the output contains a connection variable's value",
      lines,
    };
  }
  if (escaped.length > 0) {
    return {
      verdict: 'ESCAPE',
      evidence: mask(escaped[0]!) + more(escaped.length - 1),
      reason:
        escaped.length === 1
          ? 'the program reports an escape'
          : `the program reports ${escaped.length} escapes`,
      lines,
    };
  }
  if (expect.hostNotRoot && observed.hostUids?.includes(0)) {
    return {
      verdict: 'ESCAPE',
      evidence: `host uids of the program: ${observed.hostUids.join(', ')}`,
      reason: 'seen from the host, the program runs as root (uid 0)',
      lines,
    };
  }
  if (expect.noSurvivors && (observed.survivors ?? 0) > 0) {
    return {
      verdict: 'ESCAPE',
      evidence: `${observed.survivors} of its processes still alive on the host after the job (the audit killed them)`,
      reason: 'a process outlived its job',
      lines,
    };
  }
  const stdoutBytes = Buffer.byteLength(observed.stdout);
  if (expect.maxStdoutBytes !== undefined && stdoutBytes > expect.maxStdoutBytes) {
    return {
      verdict: 'ESCAPE',
      evidence: `stdout holds ${stdoutBytes} bytes`,
      reason: `the output cap did not hold: ${stdoutBytes} bytes kept, at most ${expect.maxStdoutBytes} expected`,
      lines,
    };
  }

  const fallback = mask(lastLine(observed.stderr) ?? lastLine(observed.stdout) ?? '(no output)');
  if (!(expect.statuses as readonly string[]).includes(observed.status)) {
    const why =
      observed.status === 'COMPILATION_ERROR'
        ? 'the attack did not compile, so it proves nothing'
        : `ended ${observed.status}, but a contained run ends ${expect.statuses.join(' or ')}`;
    const firstError =
      observed.status === 'COMPILATION_ERROR' ? allLines.find((l) => /\berror\b/.test(l)) : undefined;
    return {
      verdict: 'INCONCLUSIVE',
      evidence: firstError === undefined ? fallback : mask(firstError),
      reason: why,
      lines,
    };
  }
  if (expect.blocked !== undefined && blocked.length !== expect.blocked) {
    return {
      verdict: 'INCONCLUSIVE',
      evidence: blocked.length > 0 ? mask(blocked.at(-1)!) : fallback,
      reason: `${blocked.length} of ${expect.blocked} probes reported BLOCKED; the program did not run to the end`,
      lines,
    };
  }
  let evidenceLine: string | undefined;
  if (expect.evidence !== undefined) {
    evidenceLine = allLines.find((l) => expect.evidence!.test(l));
    if (evidenceLine === undefined) {
      return {
        verdict: 'INCONCLUSIVE',
        evidence: fallback,
        reason: `${observed.status} as expected, but no line shows why (expected one matching ${expect.evidence})`,
        lines,
      };
    }
  }
  const evidence =
    blocked.length > 0 ? mask(blocked[0]!) + more(blocked.length - 1) : mask(evidenceLine ?? fallback);
  const probesPart = expect.blocked ? `; ${expect.blocked} of ${expect.blocked} probes blocked` : '';
  let hostPart = '';
  if (expect.hostNotRoot) {
    hostPart =
      observed.hostUids === undefined
        ? '; its host uid was not seen (is the worker on another machine?)'
        : `; on the host it ran as uid ${observed.hostUids.join(', ')}`;
  }
  if (expect.noSurvivors) {
    hostPart +=
      observed.survivors === undefined
        ? '; not seen from the host (is the worker on another machine?)'
        : '; seen on the host while the job ran, gone after it';
  }
  return {
    verdict: 'contained',
    evidence,
    reason: `${observed.status} as expected${probesPart}${hostPart}`,
    lines,
  };
}
