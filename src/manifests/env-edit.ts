import { encodeDouble, encodeEnvValue, parseEnvFile } from './env-file.js';
import { refuse } from './errors.js';
import type { EnvFile } from './tree.js';

/**
 * Edits one `.env` file in place: only the value bytes of the changed keys move (quotes kept),
 * new keys are appended as `KEY=value` lines. Verified by re-parsing.
 */
export class EnvFileEditor {
  readonly file: EnvFile;
  private readonly pending = new Map<string, string>();

  constructor(file: EnvFile) {
    this.file = file;
  }

  get changed(): boolean {
    return [...this.pending.entries()].some(
      ([k, v]) => this.file.entries.find((e) => e.key === k)?.value !== v,
    );
  }

  private entry(key: string) {
    const found = this.file.entries.filter((e) => e.key === key);
    if (found.length > 1) {
      refuse(
        this.file.display,
        found[1]!.line,
        `${key} is set ${found.length} times (lines ${found.map((e) => e.line).join(', ')}); remove the duplicate first`,
      );
    }
    const e = found[0];
    if (e?.multiline) refuse(this.file.display, e.line, `${key} spans several lines; edit it by hand`);
    return e;
  }

  /** The value as it will be after the queued edits (undefined when the key is absent). */
  get(key: string): string | undefined {
    return this.pending.get(key) ?? this.entry(key)?.value;
  }

  set(key: string, value: string): void {
    this.entry(key);
    this.pending.set(key, value);
  }

  transform(key: string, fn: (old: string) => string): void {
    const old = this.get(key);
    if (old === undefined) refuse(this.file.display, 0, `${key} is not set in this file`);
    this.set(key, fn(old));
  }

  build(): string {
    const src = this.file.source;
    const cuts: Array<{ start: number; end: number; text: string }> = [];
    const appended: string[] = [];
    for (const [key, value] of this.pending) {
      const e = this.entry(key);
      if (e && e.value === value) continue;
      if (!e) {
        const enc = encodeEnvValue(value, '');
        appended.push(`${key}=${enc ?? `"${encodeDouble(value)}"`}`);
        continue;
      }
      if (e.value === undefined) {
        // A bare `KEY` line (pass-through from the environment) gets a value.
        const enc = encodeEnvValue(value, '');
        cuts.push({ start: e.valueEnd, end: e.valueEnd, text: `=${enc ?? `"${encodeDouble(value)}"`}` });
        continue;
      }
      const enc = encodeEnvValue(value, e.quote);
      cuts.push({ start: e.valueStart, end: e.valueEnd, text: enc ?? `"${encodeDouble(value)}"` });
    }
    let out = src;
    for (const c of cuts.sort((a, b) => b.start - a.start))
      out = out.slice(0, c.start) + c.text + out.slice(c.end);
    if (appended.length > 0) {
      const eol = this.file.eol;
      if (out !== '' && !out.endsWith('\n')) out += eol;
      out += appended.map((l) => l + eol).join('');
    }
    const re = parseEnvFile(this.file.display, out);
    const ok =
      re.problems.length === 0 &&
      [...this.pending].every(
        ([k, v]) =>
          re.entries
            .filter((e) => e.key === k)
            .map((e) => e.value)
            .join('\u0000') === v,
      ) &&
      this.file.entries.every(
        (e) => this.pending.has(e.key) || re.entries.find((x) => x.key === e.key)?.value === e.value,
      );
    if (!ok) refuse(this.file.display, 0, 'the edit would change more than the intended value; edit by hand');
    return out;
  }
}
