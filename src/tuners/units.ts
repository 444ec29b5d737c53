/**
 * Units at the edge: Kubernetes quantities, the byte sizes of redis.conf / rabbitmq.conf /
 * postgresql.conf, and Go durations, parsed into the tuners' base units (millicores, bytes, ms) and
 * formatted back in each file's own notation.
 *
 * Why not a package: `@kubernetes/client-node` has `quantityToScalar`, but it is not part of the
 * package's public entry point, it throws on decimals with binary suffixes ("1.5Gi" → "Cannot
 * convert 1.5 to a BigInt"), returns `number | bigint`, and is a client (src/tuners must not import
 * one). The npm candidates dedicated to k8s quantities are unmaintained 0.x releases. `bytes` parses
 * "1GB" as 2^30, which is right for redis.conf but wrong for rabbitmq.conf (10^9), so byte sizes take
 * a dialect here. Arithmetic is exact (BigInt fractions), so "0.1" CPU is 100m, never 101m.
 */
import { UserError } from '../lib/errors.js';

interface Fraction {
  num: bigint;
  den: bigint;
}

const TEN = 10n;

function pow(base: bigint, exp: number): bigint {
  let r = 1n;
  for (let i = 0; i < exp; i++) r *= base;
  return r;
}

/** "12.50" → 1250/100, exactly. */
function decimalToFraction(text: string): Fraction {
  const [intPart = '', fracPart = ''] = text.split('.');
  const digits = `${intPart}${fracPart}`.replace(/^0+(?=\d)/, '') || '0';
  return { num: BigInt(digits), den: pow(TEN, fracPart.length) };
}

function scale(f: Fraction, factor: Fraction): Fraction {
  return { num: f.num * factor.num, den: f.den * factor.den };
}

function ceilDiv(num: bigint, den: bigint): bigint {
  const q = num / den;
  return q * den === num ? q : q + 1n;
}

function toSafeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new UserError(`${what} is too large to handle exactly.`);
  }
  return Number(value);
}

// Kubernetes resource.Quantity (apimachinery quantity.go): binary SI, decimal SI (n u m "" k M G T P
// E) or a decimal exponent. An exponent needs digits, so "1E" is exa and "1E3" is 1000.
const QUANTITY = /^\+?(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|n|u|m|k|M|G|T|P|E)?$/;
const BINARY_EXP: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL_EXP: Record<string, number> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

function parseQuantity(input: string | number, what: string): Fraction {
  const text = String(input).trim();
  const m = QUANTITY.exec(text);
  if (!m) {
    throw new UserError(
      `${what} "${text}" is not a Kubernetes quantity; expected e.g. "500m", "1", "512Mi" or "2Gi".`,
    );
  }
  const value = decimalToFraction(m[1]!);
  const suffix = m[2] ?? '';
  if (suffix === '') return value;
  if (suffix in BINARY_EXP) return scale(value, { num: pow(1024n, BINARY_EXP[suffix]!), den: 1n });
  const exp = suffix in DECIMAL_EXP ? DECIMAL_EXP[suffix]! : Number(suffix.slice(1));
  return exp >= 0
    ? scale(value, { num: pow(TEN, exp), den: 1n })
    : scale(value, { num: 1n, den: pow(TEN, -exp) });
}

/**
 * A CPU quantity ("500m", "1", "1.5", 2) in millicores, rounded up like Kubernetes does below 1m.
 * @throws UserError for anything that is not a non-negative Kubernetes quantity.
 */
export function parseCpuMillicores(quantity: string | number): number {
  const f = parseQuantity(quantity, 'CPU quantity');
  return toSafeNumber(ceilDiv(f.num * 1000n, f.den), `CPU quantity "${quantity}"`);
}

/**
 * A memory quantity ("512Mi", "2Gi", "1G", "128974848", "1.5Gi") in bytes, rounded up to a whole byte.
 * @throws UserError for anything that is not a non-negative Kubernetes quantity.
 */
export function parseMemoryBytes(quantity: string | number): number {
  const f = parseQuantity(quantity, 'Memory quantity');
  return toSafeNumber(ceilDiv(f.num, f.den), `Memory quantity "${quantity}"`);
}

/** Millicores in Kubernetes' canonical form: whole cores as "2", the rest as "1500m". */
export function formatCpu(millicores: number): string {
  const m = Math.ceil(millicores);
  return m % 1000 === 0 ? String(m / 1000) : `${m}m`;
}

/** Bytes as the largest binary suffix that divides them exactly ("512Mi", "2Gi", "1536Mi"). */
export function formatMemory(bytes: number): string {
  const b = Math.ceil(bytes);
  for (const [suffix, exp] of [
    ['Ei', 6],
    ['Pi', 5],
    ['Ti', 4],
    ['Gi', 3],
    ['Mi', 2],
    ['Ki', 1],
  ] as const) {
    const unit = 1024 ** exp;
    if (b !== 0 && b % unit === 0) return `${b / unit}${suffix}`;
  }
  return String(b);
}

/**
 * Whose notation a byte size is written in. The same letters mean different sizes:
 * - `redis`: case-insensitive; k/m/g are powers of 1000, kb/mb/gb powers of 1024 (redis.conf "units").
 * - `rabbitmq`: k/K/kB/KB, M/MB, G/GB, T/TB powers of 1000; KiB/MiB/GiB/TiB powers of 1024
 *   (RabbitMQ ≥ 3.13 information units; earlier releases read k/M/G as powers of 1024).
 * - `postgres`: case-sensitive B, kB, MB, GB, TB, all powers of 1024 (postgresql.conf).
 */
export type ByteDialect = 'redis' | 'rabbitmq' | 'postgres';

const REDIS_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1024,
  m: 1e6,
  mb: 1024 ** 2,
  g: 1e9,
  gb: 1024 ** 3,
};
const RABBIT_UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  K: 1e3,
  kB: 1e3,
  KB: 1e3,
  m: 1e6,
  M: 1e6,
  MB: 1e6,
  g: 1e9,
  G: 1e9,
  GB: 1e9,
  t: 1e12,
  T: 1e12,
  TB: 1e12,
  kiB: 1024,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};
const PG_UNITS: Record<string, number> = {
  B: 1,
  kB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};

const BYTE_SIZE = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/;

/**
 * A byte size in a server's own notation ("128mb" for Redis, "1GB" for RabbitMQ, "128MB" for
 * PostgreSQL) in bytes, rounded up.
 * @throws UserError for an unknown unit in that dialect, or a PostgreSQL size without a unit (a bare
 * number there is in the parameter's own unit, such as 8kB pages for shared_buffers).
 */
export function parseByteSize(text: string, dialect: ByteDialect): number {
  const trimmed = text.trim();
  const m = BYTE_SIZE.exec(trimmed);
  const table = dialect === 'redis' ? REDIS_UNITS : dialect === 'rabbitmq' ? RABBIT_UNITS : PG_UNITS;
  const unit = dialect === 'redis' ? (m?.[2] ?? '').toLowerCase() : (m?.[2] ?? '');
  const multiplier = table[unit];
  if (!m || multiplier === undefined) {
    const accepted = Object.keys(table).filter(Boolean).join(', ');
    throw new UserError(
      `"${trimmed}" is not a ${dialect} byte size; expected a number with one of: ${accepted}` +
        (dialect === 'postgres' ? ' (a bare number is in the parameter’s own unit, so give one)' : '') +
        '.',
    );
  }
  const f = decimalToFraction(m[1]!);
  return toSafeNumber(ceilDiv(f.num * BigInt(multiplier), f.den), `byte size "${trimmed}"`);
}

/**
 * Bytes in a server's notation, with the largest unit that divides them exactly: Redis "128mb",
 * RabbitMQ "1GB" (decimal first, then "1GiB"), PostgreSQL "128MB".
 */
export function formatByteSize(bytes: number, dialect: ByteDialect): string {
  const b = Math.ceil(bytes);
  const order: Array<[string, number]> =
    dialect === 'redis'
      ? [
          ['gb', 1024 ** 3],
          ['mb', 1024 ** 2],
          ['kb', 1024],
        ]
      : dialect === 'rabbitmq'
        ? [
            ['TB', 1e12],
            ['GB', 1e9],
            ['MB', 1e6],
            ['TiB', 1024 ** 4],
            ['GiB', 1024 ** 3],
            ['MiB', 1024 ** 2],
            ['kB', 1e3],
            ['KiB', 1024],
          ]
        : [
            ['TB', 1024 ** 4],
            ['GB', 1024 ** 3],
            ['MB', 1024 ** 2],
            ['kB', 1024],
          ];
  for (const [unit, size] of order) {
    if (b !== 0 && b % size === 0) return `${b / size}${unit}`;
  }
  return dialect === 'postgres' ? `${b}B` : String(b);
}

const GO_UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const GO_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * A Go duration ("30s", "1m30s", "500ms", "1h") as the API's API_READ_TIMEOUT / API_WRITE_TIMEOUT
 * are written, in milliseconds.
 * @throws UserError for anything `time.ParseDuration` would reject (a unit is required except for "0").
 */
export function parseGoDuration(text: string): number {
  const s = text.trim();
  if (s === '0') return 0;
  let ms = 0;
  GO_PART.lastIndex = 0;
  let pos = 0;
  while (pos < s.length) {
    GO_PART.lastIndex = pos;
    const m = GO_PART.exec(s);
    if (!m) break;
    ms += Number(m[1]) * GO_UNIT_MS[m[2]!]!;
    pos = GO_PART.lastIndex;
  }
  if (s.length === 0 || pos !== s.length) {
    throw new UserError(`"${s}" is not a duration; expected e.g. "30s", "1m30s" or "500ms".`);
  }
  return Number(ms.toFixed(6));
}

/** Milliseconds as a short Go duration: "30s", "5m", "1h", "1500ms". */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
