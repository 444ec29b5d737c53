import { describe, expect, test } from 'vitest';
import { UserError } from '../../../src/lib/errors.js';
import {
  type ByteDialect,
  formatByteSize,
  formatCpu,
  formatGoDuration,
  formatMemory,
  parseByteSize,
  parseCpuMillicores,
  parseGoDuration,
  parseMemoryBytes,
} from '../../../src/tuners/units.js';

const Ki = 1024;
const Mi = 1024 ** 2;
const Gi = 1024 ** 3;

describe('parseCpuMillicores', () => {
  test.each<[string | number, number]>([
    ['1', 1000],
    ['500m', 500],
    ['0.5', 500],
    ['1.5', 1500],
    ['2000m', 2000],
    ['0.1', 100], // exact: floating point would give 101 after rounding up
    ['0.3', 300],
    ['100m', 100],
    ['1m', 1],
    ['0.0001', 1], // Kubernetes rounds sub-milli CPU up to 1m
    ['250000u', 250],
    ['1500000000n', 1500],
    ['1e3', 1_000_000],
    ['2k', 2_000_000],
    ['.5', 500],
    ['4.', 4000],
    ['+2', 2000],
    [' 4 ', 4000],
    [2, 2000],
    [0.25, 250],
    ['0', 0],
  ])('%j → %i millicores', (q, expected) => {
    expect(parseCpuMillicores(q)).toBe(expected);
  });

  test.each(['', 'abc', '-1', '1 core', '1.2.3', '500M m', 'm', '1Kb'])('%j is rejected', (q) => {
    expect(() => parseCpuMillicores(q)).toThrow(UserError);
  });
});

describe('parseMemoryBytes', () => {
  test.each<[string | number, number]>([
    ['512Mi', 512 * Mi],
    ['2Gi', 2 * Gi],
    ['1.5Gi', 1.5 * Gi],
    ['256Mi', 256 * Mi],
    ['1Ki', Ki],
    ['1Ti', 1024 ** 4],
    ['1G', 1e9],
    ['128M', 128e6],
    ['1k', 1000],
    ['1P', 1e15],
    ['1E3', 1000], // an exponent, not exa
    ['129e6', 129e6],
    ['129E6', 129e6],
    ['128974848', 128_974_848],
    [536870912, 512 * Mi],
    ['0.5Ki', 512],
    ['1.1', 2], // rounded up to a whole byte
    ['0', 0],
  ])('%j → %i bytes', (q, expected) => {
    expect(parseMemoryBytes(q)).toBe(expected);
  });

  test.each(['512MB', '2 Gi', '1gi', 'Gi', '-1Gi', '1.5GiB', '1E' /* exa: beyond exact integers */])(
    '%j is rejected',
    (q) => {
      expect(() => parseMemoryBytes(q)).toThrow(UserError);
    },
  );

  test('the message names the value and an example', () => {
    expect(() => parseMemoryBytes('512MB')).toThrow(
      'Memory quantity "512MB" is not a Kubernetes quantity; expected e.g. "500m", "1", "512Mi" or "2Gi".',
    );
  });
});

describe('formatCpu / formatMemory', () => {
  test.each<[number, string]>([
    [1000, '1'],
    [500, '500m'],
    [1500, '1500m'],
    [4000, '4'],
    [0, '0'],
    [1, '1m'],
    [333.3, '334m'],
  ])('cpu %d → %s', (m, expected) => {
    expect(formatCpu(m)).toBe(expected);
  });

  test.each<[number, string]>([
    [512 * Mi, '512Mi'],
    [2 * Gi, '2Gi'],
    [1.5 * Gi, '1536Mi'],
    [1024 ** 4, '1Ti'],
    [Ki, '1Ki'],
    [1000, '1000'],
    [0, '0'],
    [640 * Mi, '640Mi'],
  ])('memory %d → %s', (b, expected) => {
    expect(formatMemory(b)).toBe(expected);
  });

  test.each(['500m', '1', '1500m', '2', '250m'])('cpu %s round-trips', (q) => {
    expect(formatCpu(parseCpuMillicores(q))).toBe(q);
  });

  test.each(['512Mi', '2Gi', '1536Mi', '1Ki', '7Ti'])('memory %s round-trips', (q) => {
    expect(formatMemory(parseMemoryBytes(q))).toBe(q);
  });
});

describe('parseByteSize', () => {
  test.each<[string, ByteDialect, number]>([
    // redis.conf: k/m/g are powers of 1000, kb/mb/gb powers of 1024, case-insensitive.
    ['128mb', 'redis', 128 * Mi],
    ['128MB', 'redis', 128 * Mi],
    ['4gb', 'redis', 4 * Gi],
    ['2GB', 'redis', 2 * Gi],
    ['1k', 'redis', 1000],
    ['1kb', 'redis', 1024],
    ['1m', 'redis', 1e6],
    ['1g', 'redis', 1e9],
    ['1024', 'redis', 1024],
    ['100b', 'redis', 100],
    ['0', 'redis', 0],
    // rabbitmq.conf (3.13+): GB is 10^9, GiB 2^30.
    ['1GB', 'rabbitmq', 1e9],
    ['1GiB', 'rabbitmq', Gi],
    ['50MB', 'rabbitmq', 50e6],
    ['512MiB', 'rabbitmq', 512 * Mi],
    ['1000000000', 'rabbitmq', 1e9],
    ['2G', 'rabbitmq', 2e9],
    ['1kB', 'rabbitmq', 1000],
    ['1KiB', 'rabbitmq', 1024],
    ['1.5GB', 'rabbitmq', 1.5e9],
    // postgresql.conf: kB/MB/GB are powers of 1024, case-sensitive.
    ['128MB', 'postgres', 128 * Mi],
    ['1GB', 'postgres', Gi],
    ['8kB', 'postgres', 8 * Ki],
    ['100B', 'postgres', 100],
  ])('%s (%s) → %d bytes', (text, dialect, expected) => {
    expect(parseByteSize(text, dialect)).toBe(expected);
  });

  test.each<[string, ByteDialect]>([
    ['1Mi', 'rabbitmq'], // rejected by RabbitMQ's own validator too
    ['1gb', 'rabbitmq'],
    ['1tb', 'redis'],
    ['128mb', 'postgres'],
    ['128', 'postgres'], // a bare number is in the parameter's own unit
    ['lots', 'redis'],
    ['-1gb', 'redis'],
    ['', 'redis'],
  ])('%j is not a %s size', (text, dialect) => {
    expect(() => parseByteSize(text, dialect)).toThrow(UserError);
  });
});

describe('formatByteSize', () => {
  test.each<[number, ByteDialect, string]>([
    [128 * Mi, 'redis', '128mb'],
    [4 * Gi, 'redis', '4gb'],
    [171 * Mi, 'redis', '171mb'],
    [1536, 'redis', '1536'], // 1.5 KiB is not a whole kb: plain bytes
    [2048, 'redis', '2kb'],
    [1e9, 'rabbitmq', '1GB'],
    [Gi, 'rabbitmq', '1GiB'],
    [50e6, 'rabbitmq', '50MB'],
    [128 * Mi, 'postgres', '128MB'],
    [Gi, 'postgres', '1GB'],
    [8 * Ki, 'postgres', '8kB'],
    [100, 'postgres', '100B'],
  ])('%d (%s) → %s', (bytes, dialect, expected) => {
    expect(formatByteSize(bytes, dialect)).toBe(expected);
  });
});

describe('Go durations', () => {
  test.each<[string, number]>([
    ['30s', 30_000],
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['2h45m', 9_900_000],
    ['0', 0],
    ['1500us', 1.5],
    ['1000000ns', 1],
  ])('%s → %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBe(ms);
  });

  test.each(['30', '', 's', '10 s', '1d', '30sec'])('%j is rejected', (text) => {
    expect(() => parseGoDuration(text)).toThrow(UserError);
  });

  test.each<[number, string]>([
    [30_000, '30s'],
    [300_000, '5m'],
    [3_600_000, '1h'],
    [1500, '1500ms'],
    [90_000, '90s'],
    [0, '0s'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text);
  });
});
