import { describe, expect, test } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/bench/duration.js';
import {
  ArrivalSchedule,
  levelAt,
  parseStages,
  peakLevel,
  stagesDuration,
} from '../../../src/bench/stages.js';

describe('durations', () => {
  test.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['1.5s', 1500],
    ['250', 250_000], // a bare number is seconds, as in wrk and autocannon
    ['10 s', undefined],
    ['fast', undefined],
    ['', undefined],
  ])('%s → %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  test.each([
    [250, '250ms'],
    [1000, '1s'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
  ])('%s → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('stages', () => {
  const stages = parseStages('30s:10,1m:100,1m:500,2m:1000');

  test('parse', () => {
    expect(stages).toEqual([
      { durationMs: 30_000, target: 10 },
      { durationMs: 60_000, target: 100 },
      { durationMs: 60_000, target: 500 },
      { durationMs: 120_000, target: 1000 },
    ]);
    expect(stagesDuration(stages)).toBe(270_000);
    expect(peakLevel(stages)).toBe(1000);
  });

  test.each([
    [0, 0],
    [15_000, 5],
    [30_000, 10],
    [60_000, 55],
    [150_000, 500],
    [210_000, 750],
    [999_999, 1000],
  ])('level at %s ms is %s (linear ramps)', (t, level) => expect(levelAt(stages, t)).toBeCloseTo(level, 9));

  test.each(['30s', '30s:', ':10', '30s:ten', 'x:10', '0s:10', ''])('rejects "%s"', (text) => {
    expect(() => parseStages(text)).toThrow(/--stages/);
  });
});

describe('open-model arrival schedule', () => {
  const all = (s: ArrivalSchedule) => {
    const out: number[] = [];
    for (let d = s.nextDue(); d !== undefined; d = s.nextDue()) out.push(d);
    return out;
  };

  test('a constant rate gives evenly spaced arrivals', () => {
    expect(all(new ArrivalSchedule([{ durationMs: 1000, target: 10 }], 10))).toEqual([
      0, 100, 200, 300, 400, 500, 600, 700, 800, 900,
    ]);
  });

  test('phases interleave the arrivals of several threads', () => {
    const a = all(new ArrivalSchedule([{ durationMs: 1000, target: 5 }], 5, 0));
    const b = all(new ArrivalSchedule([{ durationMs: 1000, target: 5 }], 5, 0.5));
    expect([...a, ...b].sort((x, y) => x - y)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
  });

  test('a ramp from 0 to 100/s over 10 s gives its integral, 500 arrivals, denser at the end', () => {
    const d = all(new ArrivalSchedule([{ durationMs: 10_000, target: 100 }], 0));
    expect(d.length).toBe(500);
    // N(t) = 5 t² (t in s): arrival 125 is due at t = 5 s.
    expect(d[125]).toBeCloseTo(5000, 6);
    expect(d.filter((t) => t >= 5000).length).toBe(375);
  });

  test('stages chain: 2 s at 50/s then a ramp to 0 over 2 s', () => {
    const d = all(
      new ArrivalSchedule(
        [
          { durationMs: 2000, target: 50 },
          { durationMs: 2000, target: 0 },
        ],
        50,
      ),
    );
    expect(d.length).toBe(150);
    expect(d[99]).toBeCloseTo(1980, 6);
    expect(d[100]).toBeCloseTo(2000, 6);
  });
});
