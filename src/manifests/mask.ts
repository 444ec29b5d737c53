import { type Document, isMap, isScalar, isSeq, type Node, parseAllDocuments, visit } from 'yaml';
import { MASK } from '../lib/redact.js';
import { isConnectionString, maskPasswords } from './conn-string.js';
import { parseEnvFile } from './env-file.js';
import { yamlParseOptions } from './load.js';
import { decodeBase64Text } from './read.js';

/** Keys whose values are credentials wherever they appear (env names, ConfigMap keys, .env keys). */
const SECRET_KEY = /(pass(word|wd)?|secret|token|api[-_]?key|private[-_]?key|credentials?)$/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

interface Cut {
  start: number;
  end: number;
  text: string;
}

/** Masks `text[start, end)` line by line, so line numbers in a diff still match the real file. */
function maskRange(text: string, start: number, end: number, keepFirstLine: boolean): Cut[] {
  const cuts: Cut[] = [];
  let pos = start;
  let first = true;
  while (pos < end && cuts.length < 100_000) {
    const nl = text.indexOf('\n', pos);
    let lineEnd = nl === -1 || nl >= end ? end : nl;
    const next = nl === -1 || nl >= end ? end : nl + 1;
    if (text[lineEnd - 1] === '\r') lineEnd--;
    if (!(first && keepFirstLine)) {
      const body = text.slice(pos, lineEnd);
      const lead = body.length - body.trimStart().length;
      if (body.trim() !== '') cuts.push({ start: pos + lead, end: lineEnd, text: MASK });
    }
    first = false;
    pos = next;
  }
  return cuts;
}

function maskScalar(text: string, node: Node, mode: 'all' | 'connection'): Cut[] {
  const r = node.range;
  if (!r || !isScalar(node)) return [];
  const [start, end] = r;
  if (mode === 'connection' && typeof node.value === 'string' && isConnectionString(node.value)) return [];
  return maskRange(text, start, end, String(node.type).startsWith('BLOCK'));
}

/**
 * The text of a YAML file as it may be shown: Secret values masked (`data` connection strings
 * decoded and shown with the password masked, so a reviewer sees which parameter changed),
 * values under secret-looking keys masked, and every URL/DSN password masked. Line count is kept.
 */
export function maskYamlText(text: string, parsedDocs?: Document.Parsed[]): string {
  // Callers that already parsed `text` (with source ranges) pass the documents to save a parse.
  const parsed = parsedDocs ?? parseAllDocuments(text, yamlParseOptions);
  const docs = Array.isArray(parsed) ? parsed : [];
  const cuts: Cut[] = [];
  for (const doc of docs) {
    const kind = doc.get('kind');
    if (kind === 'Secret') {
      for (const section of ['data', 'stringData']) {
        const map = doc.get(section, true);
        if (!isMap(map)) continue;
        for (const pair of map.items) {
          const v = pair.value as Node | null;
          if (!isScalar(v) || !v.range) continue;
          if (section === 'data') {
            const decoded = typeof v.value === 'string' ? decodeBase64Text(v.value) : undefined;
            const oneLine = !text.slice(v.range[0], v.range[1]).includes('\n');
            if (decoded !== undefined && isConnectionString(decoded) && !decoded.includes('\n') && oneLine) {
              cuts.push({ start: v.range[0], end: v.range[1], text: `<base64: ${maskPasswords(decoded)}>` });
            } else cuts.push(...maskRange(text, v.range[0], v.range[1], false));
          } else cuts.push(...maskScalar(text, v, 'connection'));
        }
      }
    }
    // Kustomize secretGenerator literals: "KEY=VALUE" strings.
    const gen = doc.get('secretGenerator', true);
    if (isSeq(gen)) {
      for (const item of gen.items) {
        const lits = isMap(item) ? item.get('literals', true) : undefined;
        if (!isSeq(lits)) continue;
        for (const lit of lits.items) {
          if (!isScalar(lit) || typeof lit.value !== 'string' || !lit.range) continue;
          const eq = lit.value.indexOf('=');
          const value = lit.value.slice(eq + 1);
          if (isConnectionString(value)) continue;
          const raw = text.slice(lit.range[0], lit.range[1]);
          const at = raw.indexOf('=');
          if (at !== -1)
            cuts.push({
              start: lit.range[0] + at + 1,
              end: lit.range[1] - (/['"]$/.test(raw) ? 1 : 0),
              text: MASK,
            });
        }
      }
    }
    visit(doc, {
      Pair: (_k, pair) => {
        const key = isScalar(pair.key) ? String(pair.key.value) : '';
        if (isSecretKey(key) && isScalar(pair.value))
          cuts.push(...maskScalar(text, pair.value, 'connection'));
      },
      Map: (_k, map) => {
        // env entries: { name: DB_PASSWORD, value: ... }
        const name = map.get('name');
        const value = map.get('value', true);
        if (typeof name === 'string' && isSecretKey(name) && isScalar(value)) {
          cuts.push(...maskScalar(text, value, 'connection'));
        }
      },
    });
  }
  return maskPasswords(applyCuts(text, cuts));
}

/** The text of a `.env` file as it may be shown: secret keys (or every value) masked, URL passwords masked. */
export function maskEnvText(text: string, allSecret: boolean): string {
  const { entries } = parseEnvFile('', text);
  const cuts: Cut[] = [];
  for (const e of entries) {
    if (e.value === undefined || e.valueEnd === e.valueStart) continue;
    if ((allSecret || isSecretKey(e.key)) && !isConnectionString(e.value)) {
      cuts.push(...maskRange(text, e.valueStart, e.valueEnd, false));
    }
  }
  return maskPasswords(applyCuts(text, cuts));
}

function applyCuts(text: string, cuts: Cut[]): string {
  const sorted = [...cuts].sort((a, b) => b.start - a.start);
  let out = text;
  let floor = Number.POSITIVE_INFINITY;
  for (const c of sorted) {
    if (c.end > floor) continue;
    out = out.slice(0, c.start) + c.text + out.slice(c.end);
    floor = c.start;
  }
  return out;
}

/** Masks a single value for display: credentials entirely, connection strings by their password. */
export function maskValue(value: string, secret: boolean): string {
  if (isConnectionString(value)) return maskPasswords(value);
  return secret ? MASK : value;
}
