import type { FileProblem } from './errors.js';

/** One `KEY=VALUE` line of a `.env` file, with the offsets needed to patch its value in place. */
export interface EnvEntry {
  key: string;
  /** 1-based line of the key. */
  line: number;
  /** Decoded value (quotes removed, `\n` and `\"` expanded in double quotes); undefined for a bare `KEY`. */
  value: string | undefined;
  /** Offsets of the value text between the quotes (or the unquoted value without its comment). */
  valueStart: number;
  valueEnd: number;
  quote: '"' | "'" | '';
  /** The value spans several lines (a quoted multi-line value): the library does not edit those. */
  multiline: boolean;
  /** Offset of the end of the entry's last line (before its line break). */
  lineEnd: number;
}

export interface ParsedEnvFile {
  entries: EnvEntry[];
  problems: FileProblem[];
}

const keyLine = /^([ \t]*)(export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*(=)?/;

function decodeDouble(raw: string): string {
  return raw.replace(/\\([nrt"\\$])/g, (_, c: string) =>
    c === 'n' ? '\n' : c === 'r' ? '\r' : c === 't' ? '\t' : c,
  );
}

/** Encodes a value for a double-quoted `.env` value (the inverse of the decoding above). */
export function encodeDouble(value: string): string {
  return value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n');
}

/**
 * Parses a dotenv / docker env-file: `KEY=VALUE`, `export KEY=VALUE`, single or double quotes,
 * `# comments`, blank lines, bare `KEY` (pass-through). Anything else is reported with its line,
 * because silently skipping a line the user meant as a setting is how values get lost.
 */
export function parseEnvFile(file: string, source: string): ParsedEnvFile {
  const entries: EnvEntry[] = [];
  const problems: FileProblem[] = [];
  let offset = 0;
  let lineNo = 0;
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const rawLine = lines[i]!;
    lineNo = i + 1;
    const lineStart = offset;
    offset += rawLine.length + 1;
    const text = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const trimmed = text.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const m = keyLine.exec(text);
    if (!m) {
      problems.push({
        file,
        line: lineNo,
        column: 1,
        reason: `expected KEY=VALUE, found "${trimmed.slice(0, 40)}"`,
      });
      continue;
    }
    const key = m[3]!;
    if (!m[4]) {
      if (text.slice(m[0].length).trim() !== '') {
        problems.push({
          file,
          line: lineNo,
          column: 1,
          reason: `expected KEY=VALUE, found "${trimmed.slice(0, 40)}"`,
        });
      } else {
        entries.push({
          key,
          line: lineNo,
          value: undefined,
          valueStart: lineStart + text.length,
          valueEnd: lineStart + text.length,
          quote: '',
          multiline: false,
          lineEnd: lineStart + text.length,
        });
      }
      continue;
    }
    let pos = m[0].length;
    while (text[pos] === ' ' || text[pos] === '\t') pos++;
    const q = text[pos];
    if (q === '"' || q === "'") {
      const close = findClose(text, pos + 1, q);
      if (close !== -1) {
        const raw = text.slice(pos + 1, close);
        const rest = text.slice(close + 1).trim();
        if (rest !== '' && !rest.startsWith('#')) {
          problems.push({
            file,
            line: lineNo,
            column: close + 2,
            reason: `unexpected text after the closing ${q}`,
          });
          continue;
        }
        entries.push({
          key,
          line: lineNo,
          value: q === '"' ? decodeDouble(raw) : raw,
          valueStart: lineStart + pos + 1,
          valueEnd: lineStart + close,
          quote: q,
          multiline: false,
          lineEnd: lineStart + text.length,
        });
        continue;
      }
      // A quoted value continuing on the next lines (dotenv allows it): find the closing quote.
      let j = i + 1;
      let endOffset = offset;
      let found = -1;
      for (; j < lines.length && j < i + 1000; j++) {
        const l = lines[j]!;
        const c = findClose(l, 0, q);
        if (c !== -1) {
          found = endOffset + c;
          break;
        }
        endOffset += l.length + 1;
      }
      if (found === -1) {
        problems.push({ file, line: lineNo, column: pos + 1, reason: `missing closing ${q}` });
        continue;
      }
      const raw = source.slice(lineStart + pos + 1, found);
      entries.push({
        key,
        line: lineNo,
        value: q === '"' ? decodeDouble(raw.replace(/\r\n/g, '\n')) : raw.replace(/\r\n/g, '\n'),
        valueStart: lineStart + pos + 1,
        valueEnd: found,
        quote: q,
        multiline: true,
        lineEnd: found + 1,
      });
      // Skip the continuation lines.
      for (let k = i + 1; k <= j; k++) offset += lines[k]!.length + 1;
      i = j;
      continue;
    }
    // Unquoted: the value ends at " #" (a comment) or the end of the line; surrounding blanks dropped.
    let end = text.length;
    const hash = text.slice(pos).search(/[ \t]#/);
    if (hash !== -1) end = pos + hash;
    while (end > pos && (text[end - 1] === ' ' || text[end - 1] === '\t')) end--;
    entries.push({
      key,
      line: lineNo,
      value: text.slice(pos, end),
      valueStart: lineStart + pos,
      valueEnd: lineStart + end,
      quote: '',
      multiline: false,
      lineEnd: lineStart + text.length,
    });
  }
  return { entries, problems };
}

function findClose(text: string, from: number, q: string): number {
  for (let i = from; i < text.length; i++) {
    if (q === '"' && text[i] === '\\') {
      i++;
      continue;
    }
    if (text[i] === q) return i;
  }
  return -1;
}

/**
 * The raw text to put between the quotes (or in place of an unquoted value) so that the entry
 * decodes to `value`; undefined when the value cannot be written in that quoting style.
 */
export function encodeEnvValue(value: string, quote: EnvEntry['quote']): string | undefined {
  if (quote === '"') return encodeDouble(value);
  if (quote === "'") return value.includes("'") || value.includes('\n') ? undefined : value;
  if (/[\s#"'\\]/.test(value) || value === '') return undefined;
  return value;
}
