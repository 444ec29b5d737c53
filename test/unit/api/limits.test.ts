import { describe, expect, test } from 'vitest';
import { isDatabaseUnavailable, isJsonContentType, jsonDepth } from '../../../src/api/http.js';
import { msUntilAccepted, slidingWindowCount } from '../../../src/api/rate-limit.js';
import { validateSubmission } from '../../../src/api/validate.js';

const W = 60_000;

describe('msUntilAccepted (sliding window: previous · (1 − elapsed) + current + 1 ≤ limit)', () => {
  test.each([
    // previous, current, limit, elapsed ms, expected ms
    [0, 4, 5, 0, 0], // room left
    [0, 5, 5, 0, 60_000 + 12_000], // next window, where 5 · (1 − g) + 1 ≤ 5 needs g ≥ 0.2
    [0, 5, 5, 30_000, 30_000 + 12_000],
    [0, 1, 1, 59_000, 61_000], // limit 1: a whole minute after the accepted one
    [10, 0, 5, 0, 36_000], // 10 · (1 − e) + 1 ≤ 5 ⇔ e ≥ 0.6
    [10, 0, 5, 36_000, 0],
    [10, 2, 5, 30_000, 18_000], // 10 · (1 − e) + 3 ≤ 5 ⇔ e ≥ 0.8
    [5, 5, 5, 10_000, 50_000 + 12_000],
  ])('previous %i, current %i, limit %i, %i ms in → %i ms', (p, c, l, e, ms) => {
    const got = msUntilAccepted(p, c, l, e, W);
    expect(got).toBe(ms);
    if (ms > 0 && e + ms < W) {
      // At that moment one more fits, a moment before it did not.
      expect(slidingWindowCount(p, c, (e + ms) / W) + 1).toBeLessThanOrEqual(l);
      expect(slidingWindowCount(p, c, (e + ms - 1) / W) + 1).toBeGreaterThan(l);
    }
  });
});

describe('validateSubmission', () => {
  const d = { timeLimitMs: 5000, memoryLimitKb: 262_144 };
  test.each([
    ['{"language":"python","source_code":"print(1)","stdin":null,"time_limit_ms":null}', true, ''],
    ['{"language":"python","source_code":"  \\n "}', false, 'source_code is empty or only whitespace'],
    [
      '{"language":"python","source_code":"a\\u0000"}',
      false,
      'source_code must not contain NUL bytes (PostgreSQL text cannot hold them)',
    ],
    [
      '{"language":"python","source_code":"a","stdin":"\\u0000"}',
      false,
      'stdin must not contain NUL bytes (PostgreSQL text cannot hold them)',
    ],
    ['{"language":"python","source_code":"a","time_limit_ms":0}', false, 'time_limit_ms must be at least 1'],
    [
      '{"language":"python","source_code":"a","memory_limit_kb":1048577}',
      false,
      'memory_limit_kb must be at most 1048576',
    ],
    [
      `{"language":"python","source_code":"a","x":${'['.repeat(17)}${']'.repeat(17)}}`,
      false,
      'request body is nested deeper than 16 levels',
    ],
    ['', false, 'request body is empty'],
  ])('%s', (body, ok, error) => {
    const r = validateSubmission(body, d);
    expect(r.ok).toBe(ok);
    if (r.ok)
      expect(r.submission).toEqual({
        language: 'python',
        source_code: 'print(1)',
        stdin: '',
        time_limit_ms: 5000,
        memory_limit_kb: 262_144,
      });
    else expect(r.error).toBe(error);
  });
});

describe('request helpers', () => {
  test.each([
    ['{"a":"[[[["}', 1],
    ['{"a":"\\"[["}', 1],
    ['[[{}]]', 3],
    ['"x"', 0],
  ])('jsonDepth(%s) = %i', (text, depth) => expect(jsonDepth(text)).toBe(depth));

  test.each([
    [undefined, true],
    ['application/json', true],
    ['Application/JSON; charset=utf-8', true],
    ['application/problem+json', true],
    ['text/plain', false],
    ['application/x-www-form-urlencoded', false],
  ])('isJsonContentType(%s) = %s', (h, ok) => expect(isJsonContentType(h)).toBe(ok));

  test.each([
    [{ code: 'ECONNREFUSED' }, true],
    [{ code: '57P01' }, true],
    [{ code: '08006' }, true],
    [new Error('Connection terminated unexpectedly'), true],
    [{ code: '22021' }, false],
    [new Error('boom'), false],
  ])('isDatabaseUnavailable(%o) = %s', (e, down) => expect(isDatabaseUnavailable(e)).toBe(down));
});
