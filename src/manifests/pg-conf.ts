/**
 * PostgreSQL settings in the two places manifests keep them: a postgresql.conf text (usually a
 * ConfigMap key) and the server's command line (`-c max_connections=200`).
 */

export class DuplicateSettingError extends Error {
  constructor(
    readonly setting: string,
    readonly lines: number[],
  ) {
    super(`${setting} is set ${lines.length} times`);
  }
}

function confLine(name: string): RegExp {
  // `name = value`, `name=value`, `name 'value'`; value optionally quoted; trailing comment allowed.
  return new RegExp(`^([ \\t]*${name}[ \\t]*(?:=[ \\t]*|[ \\t]+))('?)([^'\\s#]*)\\2`);
}

/** Active (uncommented) occurrences of a setting in a postgresql.conf text, with 1-based line numbers. */
export function readConfSetting(text: string, name: string): Array<{ value: string; line: number }> {
  const re = confLine(name);
  const out: Array<{ value: string; line: number }> = [];
  text.split('\n').forEach((l, i) => {
    const m = re.exec(l);
    if (m) out.push({ value: m[3]!, line: i + 1 });
  });
  return out;
}

/**
 * Sets a setting in a postgresql.conf text, changing only its value on its line. When the setting
 * is absent it is added after the commented-out default (`#max_connections = 100`) if there is
 * one, else at the end. Set twice → {@link DuplicateSettingError} (PostgreSQL would use the last).
 */
export function setConfSetting(text: string, name: string, value: string | number): string {
  const re = confLine(name);
  const lines = text.split('\n');
  const hits = lines.map((l, i) => (re.test(l) ? i : -1)).filter((i) => i !== -1);
  if (hits.length > 1)
    throw new DuplicateSettingError(
      name,
      hits.map((i) => i + 1),
    );
  const v = String(value);
  if (hits.length === 1) {
    const i = hits[0]!;
    lines[i] = lines[i]!.replace(re, (_m, head: string, q: string) => `${head}${q}${v}${q}`);
    return lines.join('\n');
  }
  const commented = lines.findIndex((l) => new RegExp(`^[ \\t]*#[ \\t]*${name}[ \\t]*=`).test(l));
  const cr = text.includes('\r\n') ? '\r' : '';
  const newLine = `${name} = ${v}${cr}`;
  if (commented !== -1) {
    lines.splice(commented + 1, 0, newLine);
    return lines.join('\n');
  }
  if (text === '') return `${newLine}\n`;
  if (text.endsWith('\n')) return `${text}${newLine}\n`;
  return `${text}\n${newLine.replace(/\r$/, '')}`;
}

/** A setting found in a command line: which item, and where its value is inside that item. */
export interface ArgSetting {
  item: number;
  start: number;
  end: number;
  value: string;
}

/**
 * Finds `-c name=N`, `-cname=N`, `--name=N` (also with dashes) in an argument list, both as
 * separate items (`["-c", "max_connections=200"]`) and inside one shell string
 * (`["sh", "-c", "exec postgres -c max_connections=200"]`).
 */
export function findArgSetting(args: string[], name: string): ArgSetting[] {
  const alt = `${name}|${name.replace(/_/g, '-')}`;
  const out: ArgSetting[] = [];
  const whole = new RegExp(`^(?:${alt})=('?)([^'\\s]*)\\1$`);
  const inline = new RegExp(`(?:^|[\\s'"])(?:-c[ \\t]*|--)(?:${alt})=('?)([^'"\\s]*)\\1`, 'g');
  args.forEach((a, i) => {
    if (typeof a !== 'string') return;
    if (i > 0 && args[i - 1] === '-c') {
      const m = whole.exec(a);
      if (m) {
        const start = a.length - m[2]!.length - m[1]!.length;
        out.push({ item: i, start, end: start + m[2]!.length, value: m[2]! });
        return;
      }
    }
    for (let m = inline.exec(a); m !== null; m = inline.exec(a)) {
      const end = m.index + m[0].length - m[1]!.length;
      out.push({ item: i, start: end - m[2]!.length, end, value: m[2]! });
    }
  });
  return out;
}
