import { describe, expect, test } from 'vitest';
import { UserError } from '../../../src/lib/errors.js';
import {
  classifyDbConnections,
  classifyRedisMemory,
  classifyResource,
  type ResourceKind,
  type ResourceLevel,
  resourceTargets,
} from '../../../src/tuners/resource-targets.js';

describe('SARK resource targets (sark-tuning-guide.md "Performance Targets > Resource Targets")', () => {
  const table: Record<ResourceKind, [number, number, number]> = {
    cpu: [0.6, 0.8, 0.9],
    memory: [0.7, 0.85, 0.95],
    dbConnections: [0.5, 0.8, 0.95],
    redisMemory: [0.75, 0.9, 0.95],
  };
  test.each(Object.entries(table) as Array<[ResourceKind, [number, number, number]]>)(
    '%s',
    (kind, [t, w, c]) => {
      expect(resourceTargets[kind]).toEqual({ target: t, warning: w, critical: c });
    },
  );
});

describe('database connections: < 50 % / 80 % / 95 % of pool', () => {
  test.each<[number, number, ResourceLevel]>([
    [0, 20, 'ok'],
    [9, 20, 'ok'],
    [10, 20, 'warning'], // exactly 50 %: no longer below the target
    [15, 20, 'warning'],
    [16, 20, 'critical'], // exactly 80 %
    [18, 20, 'critical'],
    [19, 20, 'exceeded'], // exactly 95 %
    [20, 20, 'exceeded'],
    [25, 20, 'exceeded'],
    [49, 100, 'ok'],
    [79, 100, 'warning'],
    [94, 100, 'critical'],
  ])('%i of %i → %s', (used, pool, level) => {
    expect(classifyDbConnections(used, pool).level).toBe(level);
  });

  test('reason carries the numbers', () => {
    expect(classifyDbConnections(16, 20).reason).toBe(
      'database connections 16 / 20 = 80 %: at or above 80 %, below 95 %',
    );
    expect(classifyDbConnections(5, 20).reason).toBe(
      'database connections 5 / 20 = 25 %: below the 50 % target',
    );
    expect(classifyDbConnections(12, 20).reason).toBe(
      'database connections 12 / 20 = 60 %: at or above the 50 % target, below 80 %',
    );
    expect(classifyDbConnections(20, 20).reason).toBe(
      'database connections 20 / 20 = 100 %: at or above 95 %',
    );
  });
});

describe('Redis memory: < 75 / 90 / 95 %', () => {
  const MiB = 1024 ** 2;
  test.each<[number, number, ResourceLevel]>([
    [0, 128 * MiB, 'ok'],
    [95 * MiB, 128 * MiB, 'ok'],
    [96 * MiB, 128 * MiB, 'warning'], // exactly 75 %
    [115 * MiB, 128 * MiB, 'warning'],
    [115.2 * MiB, 128 * MiB, 'critical'], // exactly 90 %
    [121 * MiB, 128 * MiB, 'critical'],
    [121.6 * MiB, 128 * MiB, 'exceeded'], // exactly 95 %
    [128 * MiB, 128 * MiB, 'exceeded'],
  ])('%i of %i bytes → %s', (used, max, level) => {
    expect(classifyRedisMemory(used, max).level).toBe(level);
  });
});

describe('CPU and memory', () => {
  test.each<[ResourceKind, number, ResourceLevel]>([
    ['cpu', 0.59, 'ok'],
    ['cpu', 0.6, 'warning'],
    ['cpu', 0.8, 'critical'],
    ['cpu', 0.9, 'exceeded'],
    ['memory', 0.69, 'ok'],
    ['memory', 0.7, 'warning'],
    ['memory', 0.85, 'critical'],
    ['memory', 0.95, 'exceeded'],
  ])('%s at %d → %s', (kind, ratio, level) => {
    expect(classifyResource(kind, ratio * 100, 100).level).toBe(level);
  });

  test.each<[number, number]>([
    [1, 0],
    [1, -5],
    [-1, 10],
  ])('used %d of capacity %d is rejected', (used, capacity) => {
    expect(() => classifyResource('cpu', used, capacity)).toThrow(UserError);
  });

  test('source', () => {
    expect(classifyResource('cpu', 1, 2).source).toEqual({
      guide: 'sark-tuning-guide.md',
      section: 'Performance Targets > Resource Targets',
    });
  });
});
