/** Hides credentials in anything the tool prints: passwords, and the password part of URLs. */
export const MASK = '****';

export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = MASK;
    return u.toString().replace(encodeURIComponent(MASK), MASK);
  } catch {
    // Not a URL we can parse: hide anything between "://user:" and "@".
    return url.replace(/(\/\/[^:/@\s]*:)[^@\s]*@/, `$1${MASK}@`);
  }
}

const secretKey = /(password|passwd|secret|token|pass)$/i;

/** Masks a config value by its key path: secrets entirely, URLs by their password part. */
export function maskValue(keyPath: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (secretKey.test(keyPath.split('.').pop() ?? '')) return MASK;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return maskUrl(value);
  return value;
}

/** A deep copy with every secret masked. */
export function maskDeep<T>(value: T, prefix = ''): T {
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, prefix)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, maskDeep(v, prefix ? `${prefix}.${k}` : k)]),
    ) as T;
  }
  return maskValue(prefix, value) as T;
}
