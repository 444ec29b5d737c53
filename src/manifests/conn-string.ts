import { MASK } from '../lib/redact.js';

/** A connection-string parameter given more than once: which value wins depends on the driver. */
export class DuplicateParamError extends Error {
  constructor(readonly param: string) {
    super(`the connection string sets ${param} more than once`);
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** Key/value connection strings (`host=db user=app pool_max_conns=10`), as libpq and pgx accept. */
export function isKeywordDsn(s: string): boolean {
  return !s.includes('://') && /^\s*[A-Za-z_]+\s*=/.test(s);
}

interface Span {
  key: string;
  value: string;
  /** Offsets of the raw value text. */
  start: number;
  end: number;
}

/** The parameters of a URL's query string, with the offsets of each raw value. */
function urlParams(url: string): { spans: Span[]; queryStart: number; queryEnd: number } {
  // Split the way pgx (Go's net/url) and libpq do: fragment at the first "#", query at the first
  // "?"; a password holding a literal "?" or "#" must be percent-encoded for the driver anyway.
  const hash = url.indexOf('#');
  const queryEnd = hash === -1 ? url.length : hash;
  const q = url.slice(0, queryEnd).indexOf('?');
  if (q === -1) return { spans: [], queryStart: -1, queryEnd };
  const spans: Span[] = [];
  let pos = q + 1;
  while (pos <= queryEnd && spans.length < 1000) {
    const amp = url.indexOf('&', pos);
    const end = amp === -1 || amp > queryEnd ? queryEnd : amp;
    const part = url.slice(pos, end);
    if (part !== '') {
      const eq = part.indexOf('=');
      const rawKey = eq === -1 ? part : part.slice(0, eq);
      const vStart = eq === -1 ? end : pos + eq + 1;
      spans.push({ key: safeDecode(rawKey), value: safeDecode(url.slice(vStart, end)), start: vStart, end });
    }
    pos = end + 1;
  }
  return { spans, queryStart: q, queryEnd };
}

function dsnParams(dsn: string): Span[] {
  const spans: Span[] = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s']*)/g;
  for (let m = re.exec(dsn); m !== null && spans.length < 1000; m = re.exec(dsn)) {
    const raw = m[2]!;
    const start = m.index + m[0].length - raw.length;
    const quoted = raw.startsWith("'");
    spans.push({
      key: m[1]!,
      value: quoted ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw,
      start: quoted ? start + 1 : start,
      end: quoted ? start + raw.length - 1 : start + raw.length,
    });
  }
  return spans;
}

/** Reads connection-string parameters (URL query or key/value form); a repeated key throws. */
export function readParams(conn: string, keys: string[]): Record<string, string> {
  const spans = isKeywordDsn(conn) ? dsnParams(conn) : urlParams(conn).spans;
  const out: Record<string, string> = {};
  for (const key of keys) {
    const found = spans.filter((s) => s.key === key);
    if (found.length > 1) throw new DuplicateParamError(key);
    if (found[0]) out[key] = found[0].value;
  }
  return out;
}

/**
 * Sets parameters in a connection string, changing only their value bytes (or appending
 * `&key=value`): the order of the other parameters, the percent-encoding of the password and
 * everything else stay byte-identical, which `new URL()` would not guarantee. Values are
 * percent-encoded for URLs. A parameter given twice throws {@link DuplicateParamError}.
 */
export function setParams(conn: string, params: Record<string, string | number | undefined>): string {
  const dsn = isKeywordDsn(conn);
  let out = conn;
  for (const [key, raw] of Object.entries(params)) {
    if (raw === undefined) continue;
    const value = String(raw);
    if (dsn) {
      const found = dsnParams(out).filter((s) => s.key === key);
      if (found.length > 1) throw new DuplicateParamError(key);
      const enc = /^[^\s'\\]+$/.test(value) ? value : `'${value.replace(/['\\]/g, '\\$&')}'`;
      const f = found[0];
      if (f) {
        if (f.value === value) continue;
        const quoted = out[f.start - 1] === "'";
        out = out.slice(0, f.start) + (quoted ? value.replace(/['\\]/g, '\\$&') : enc) + out.slice(f.end);
      } else {
        const trail = out.length - out.trimEnd().length;
        out = `${out.slice(0, out.length - trail)} ${key}=${enc}${out.slice(out.length - trail)}`;
      }
      continue;
    }
    const { spans, queryStart, queryEnd } = urlParams(out);
    const found = spans.filter((s) => s.key === key);
    if (found.length > 1) throw new DuplicateParamError(key);
    const enc = encodeURIComponent(value);
    const f = found[0];
    if (f) {
      if (f.value === value) continue;
      const hasEq = out[f.start - 1] === '=';
      out = out.slice(0, f.start) + (hasEq ? enc : `=${enc}`) + out.slice(f.end);
    } else if (queryStart === -1) {
      out = `${out.slice(0, queryEnd)}?${key}=${enc}${out.slice(queryEnd)}`;
    } else {
      const sep = queryEnd === queryStart + 1 || out[queryEnd - 1] === '&' ? '' : '&';
      out = `${out.slice(0, queryEnd)}${sep}${key}=${enc}${out.slice(queryEnd)}`;
    }
  }
  return out;
}

const urlUserinfo = /([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@'"]*:)([^\s/?#'"]*)@/gi;
// `password=` as a DSN keyword or a URL query parameter (where "&" ends it).
const dsnPassword = /((?:^|[\s?&;])(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'"&]+)/gi;

/**
 * Masks passwords inside any text, keeping every other byte (and the line count) as is:
 * `postgres://user:secret@host` → `postgres://user:****@host`, `password=x` → `password=****`.
 */
export function maskPasswords(text: string): string {
  return text
    .replace(urlUserinfo, (_m, head: string, pw: string) => (pw === '' ? `${head}@` : `${head}${MASK}@`))
    .replace(dsnPassword, (_m, head: string) => `${head}${MASK}`);
}

/** Whether a value is a connection string this module can read (URL with a scheme, or key/value). */
export function isConnectionString(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(s.trim()) || isKeywordDsn(s);
}
