/** A Kubernetes resource quantity as written, with its value in cores (CPU) or bytes (memory). */
export interface Quantity {
  raw: string;
  value: number;
}

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/**
 * Parses a quantity (`500m`, `2`, `1.5`, `512Mi`, `1G`, `1e3`) into a plain number: CPU in cores,
 * memory in bytes. Undefined when it is not a valid quantity.
 */
export function parseQuantity(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/.exec(
    raw.trim(),
  );
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[2]) return n * 10 ** Number(m[2].slice(1));
  const suffix = m[3] ?? '';
  const mul = BINARY[suffix] ?? DECIMAL[suffix];
  return mul === undefined ? undefined : n * mul;
}

export function toQuantity(raw: unknown): Quantity | undefined {
  const value = parseQuantity(raw);
  return value === undefined ? undefined : { raw: String(raw), value };
}

/** Equal amounts count as equal however written (`0.5` = `500m`, `1Gi` = `1024Mi`), so reruns are no-ops. */
export function quantityEquals(a: unknown, b: unknown): boolean {
  const x = parseQuantity(a);
  const y = parseQuantity(b);
  if (x === undefined || y === undefined) return a === b;
  return Math.abs(x - y) <= Math.abs(x) * 1e-12;
}
