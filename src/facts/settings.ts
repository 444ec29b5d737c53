/**
 * Server settings written in manifests outside PostgreSQL (which src/manifests handles itself):
 * Redis (`maxmemory 128mb` in a redis.conf ConfigMap key, or `--maxmemory 128mb` on the command line)
 * and RabbitMQ (`vm_memory_high_watermark.relative = 0.6` in a rabbitmq.conf key). Each hit says
 * where it is, so `--write` can change exactly that line or argument and nothing else.
 */
import {
  type DataObject,
  type K8sObject,
  type ManifestEdit,
  ManifestRefusal,
  type ManifestTree,
  readConfigMaps,
  readConfSetting,
  setConfSetting,
} from '../manifests/index.js';
import { objectText, type RoleWorkload } from './roles.js';

export type SettingSite =
  | { kind: 'conf'; object: K8sObject; key: string; text: string; line: number }
  | {
      kind: 'args';
      role: RoleWorkload;
      field: 'args' | 'command';
      /** Index of the item that holds the value. */
      item: number;
      /** Offsets of the value inside that item. */
      start: number;
      end: number;
      itemText: string;
    };

export interface SettingHit {
  name: string;
  value: string;
  site: SettingSite;
  /** `config.yaml: ConfigMap/redis-config redis.conf:3`, for fact details. */
  detail: string;
}

/**
 * Finds `name` in ConfigMap `*.conf` keys whose text passes `isFor` (a redis.conf, a rabbitmq.conf).
 * Returns every active line (a key set twice is reported twice, and refused when written).
 */
export function findConfSettings(
  tree: ManifestTree,
  names: string[],
  isFor: (cm: DataObject, key: string, text: string) => boolean,
): SettingHit[] {
  const out: SettingHit[] = [];
  for (const cm of readConfigMaps(tree)) {
    for (const [key, text] of Object.entries(cm.values)) {
      if (!key.endsWith('.conf') || !isFor(cm, key, text)) continue;
      for (const name of names) {
        for (const hit of readConfSetting(text, escapeName(name))) {
          out.push({
            name,
            value: hit.value,
            site: { kind: 'conf', object: cm.object, key, text, line: hit.line },
            detail: `${objectText(cm.object)} ${key}:${hit.line}`,
          });
        }
      }
    }
  }
  return out;
}

/** Dots in RabbitMQ keys are literal: `vm_memory_high_watermark.relative`. */
function escapeName(name: string): string {
  return name.replace(/\./g, '\\.');
}

/**
 * Finds `--name value` (two items, or inside one shell string) in a workload's container command
 * line: how redis-server takes settings (`redis-server --maxmemory 128mb`).
 */
export function findArgSettings(role: RoleWorkload, names: string[]): SettingHit[] {
  const out: SettingHit[] = [];
  const c = role.container;
  for (const field of ['command', 'args'] as const) {
    const items = c[field];
    items.forEach((item, i) => {
      for (const name of names) {
        if (item === `--${name}` && i + 1 < items.length) {
          const next = items[i + 1]!;
          out.push({
            name,
            value: next,
            site: { kind: 'args', role, field, item: i + 1, start: 0, end: next.length, itemText: next },
            detail: `${role.label} container ${c.name} ${field}`,
          });
          continue;
        }
        const re = new RegExp(`(?:^|\\s)--${escapeName(name)}\\s+(\\S+)`, 'g');
        for (let m = re.exec(item); m !== null; m = re.exec(item)) {
          const end = m.index + m[0].length;
          const start = end - m[1]!.length;
          out.push({
            name,
            value: m[1]!,
            site: { kind: 'args', role, field, item: i, start, end, itemText: item },
            detail: `${role.label} container ${c.name} ${field}`,
          });
        }
      }
    });
  }
  return out;
}

/** One setting to write: at the site where it was found, or appended to a conf text that lacks it. */
export interface SettingChange {
  name: string;
  value: string;
  reason: string;
  /** Where the setting is now; absent → `appendTo`. */
  hit?: SettingHit;
  appendTo?: { object: K8sObject; key: string; text: string };
  /** The line written when appending: `maxmemory 256mb` (Redis) or `name = value` (RabbitMQ). */
  line?: string;
}

/**
 * The manifest edits for a set of setting changes. Changes to the same conf text are applied one
 * after another to that text and written as one edit (two edits of one ConfigMap key would each
 * start from the original and the second would undo the first); likewise for one argument.
 */
export function settingEdits(changes: SettingChange[]): ManifestEdit[] {
  // The server would use one of two lines and the reader may mean the other: refuse, don't guess.
  const seen = new Map<string, SettingHit>();
  for (const c of changes) {
    if (c.hit?.site.kind !== 'conf') continue;
    const k = `${objectText(c.hit.site.object)}#${c.hit.site.key}#${c.name}`;
    const first = seen.get(k);
    if (first && first.site.kind === 'conf') {
      throw new ManifestRefusal([
        {
          file: c.hit.site.object.file,
          line: c.hit.site.object.line,
          column: 0,
          reason: `${c.name} is set twice in ${c.hit.site.key} (lines ${first.site.line} and ${c.hit.site.line} of the text); remove one first`,
        },
      ]);
    }
    seen.set(k, c.hit);
  }
  const confs = new Map<string, { object: K8sObject; key: string; text: string; reasons: string[] }>();
  const items = new Map<
    string,
    {
      site: Extract<SettingSite, { kind: 'args' }>;
      spans: Array<{ start: number; end: number; value: string }>;
      reasons: string[];
    }
  >();
  for (const c of changes) {
    const site = c.hit?.site;
    if (site?.kind === 'args') {
      const k = `${site.role.label}#${site.field}#${site.item}`;
      const e = items.get(k) ?? { site, spans: [], reasons: [] };
      e.spans.push({ start: site.start, end: site.end, value: c.value });
      e.reasons.push(c.reason);
      items.set(k, e);
      continue;
    }
    const target = site?.kind === 'conf' ? site : c.appendTo;
    if (!target) continue;
    const k = `${objectText(target.object)}#${target.key}`;
    const e = confs.get(k) ?? { object: target.object, key: target.key, text: target.text, reasons: [] };
    e.text = site
      ? setConfSetting(e.text, escapeName(c.name), c.value)
      : appendConfLine(e.text, c.line ?? `${c.name} = ${c.value}`);
    e.reasons.push(c.reason);
    confs.set(k, e);
  }
  const edits: ManifestEdit[] = [];
  for (const e of confs.values()) {
    edits.push({
      op: 'set-configmap-key',
      configMap: { name: e.object.name, ...(e.object.namespace ? { namespace: e.object.namespace } : {}) },
      key: e.key,
      value: e.text,
      reason: e.reasons.join('; '),
    });
  }
  for (const e of items.values()) {
    let text = e.site.itemText;
    for (const span of [...e.spans].sort((a, b) => b.start - a.start)) {
      text = text.slice(0, span.start) + span.value + text.slice(span.end);
    }
    const w = e.site.role.workload;
    edits.push({
      op: 'set-field',
      object: {
        kind: w.object.kind,
        name: w.object.name,
        ...(w.object.namespace ? { namespace: w.object.namespace } : {}),
      },
      path: [
        'spec',
        'template',
        'spec',
        'containers',
        e.site.role.container.index,
        e.site.field,
        e.site.item,
      ],
      value: text,
      reason: e.reasons.join('; '),
    });
  }
  return edits;
}

/** Adds a line to a conf text that lacks the setting. */
export function appendConfLine(text: string, line: string): string {
  if (text === '') return `${line}\n`;
  return text.endsWith('\n') ? `${text}${line}\n` : `${text}\n${line}`;
}
