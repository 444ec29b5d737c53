/**
 * PostgreSQL knowledge of a manifest tree: where max_connections is set (postgresql.conf keys,
 * `-c` args or command, operator parameters) and where connection strings (DATABASE_URL…) are
 * written with their pool parameters.
 */
import { isMap, isScalar, isSeq } from 'yaml';
import { isConnectionString, maskPasswords, readParams } from './conn-string.js';
import { findArgSetting, readConfSetting } from './pg-conf.js';
import {
  asNumber,
  asString,
  decodeBase64Text,
  docOf,
  effectiveEnv,
  js,
  lineAt,
  POD_SPEC,
  readConfigMaps,
  readSecrets,
  readWorkloads,
  type ValueSite,
  WORKLOAD_KINDS,
} from './read.js';
import type { K8sObject, ManifestTree } from './tree.js';
import { yamlFileOf } from './tree.js';

/** Where PostgreSQL's max_connections is set, and to what. */
export interface MaxConnectionsSite {
  where: 'postgresql.conf' | 'args' | 'command' | 'operator-parameters';
  value: number;
  object: K8sObject;
  file: string;
  line: number;
  /** The ConfigMap key holding the conf text. */
  key?: string;
  container?: string;
  /** How to edit it. */
  site: ValueSite;
  /** For args/command: the item and the value's offsets inside it. */
  item?: { index: number; start: number; end: number };
}

const OPERATOR_KINDS = new Set(['Cluster', 'postgresql']);

/**
 * Finds max_connections in a ConfigMap `*.conf` key (postgresql.conf), in container args or
 * command (`-c max_connections=N`), and in CloudNativePG / Zalando cluster parameters.
 */
export function findMaxConnections(tree: ManifestTree): MaxConnectionsSite[] {
  const out: MaxConnectionsSite[] = [];
  for (const obj of tree.objects) {
    const { file, doc } = docOf(tree, obj);
    if (obj.kind === 'ConfigMap') {
      const data = doc.get('data', true);
      if (!isMap(data)) continue;
      for (const pair of data.items) {
        if (!isScalar(pair.key) || !String(pair.key.value).endsWith('.conf')) continue;
        const text = asString(js(pair.value, doc));
        if (text === undefined) continue;
        const hits = readConfSetting(text, 'max_connections');
        const key = String(pair.key.value);
        const valueLine = lineAt(file, pair.value);
        const block = isScalar(pair.value) && String(pair.value.type).startsWith('BLOCK');
        for (const h of hits) {
          const line = block ? valueLine + h.line : valueLine;
          out.push({
            where: 'postgresql.conf',
            value: Number(h.value),
            object: obj,
            file: file.display,
            line,
            key,
            site: {
              type: 'yaml',
              file: file.display,
              docIndex: obj.docIndex,
              path: ['data', key],
              line,
              encoding: 'plain',
              object: obj,
            },
          });
        }
      }
    } else if (WORKLOAD_KINDS.has(obj.kind)) {
      const list = doc.getIn([...POD_SPEC, 'containers'], true);
      if (!isSeq(list)) continue;
      list.items.forEach((cnode, ci) => {
        if (!isMap(cnode)) return;
        const cname = asString(js(cnode.get('name', true), doc)) ?? `#${ci}`;
        for (const field of ['command', 'args'] as const) {
          const seq = cnode.get(field, true);
          if (!isSeq(seq)) continue;
          const items = seq.items.map((i) => asString(js(i, doc)) ?? '');
          for (const s of findArgSetting(items, 'max_connections')) {
            const line = lineAt(file, seq.items[s.item]);
            out.push({
              where: field,
              value: Number(s.value),
              object: obj,
              file: file.display,
              line,
              container: cname,
              site: {
                type: 'yaml',
                file: file.display,
                docIndex: obj.docIndex,
                path: [...POD_SPEC, 'containers', ci, field, s.item],
                line,
                encoding: 'plain',
                object: obj,
              },
              item: { index: s.item, start: s.start, end: s.end },
            });
          }
        }
      });
    } else if (OPERATOR_KINDS.has(obj.kind) && /postgres|cnpg|zalan/.test(obj.apiVersion ?? '')) {
      const p = ['spec', 'postgresql', 'parameters', 'max_connections'];
      const node = doc.getIn(p, true);
      const v = asNumber(js(node, doc));
      if (v === undefined) continue;
      const line = lineAt(file, node);
      out.push({
        where: 'operator-parameters',
        value: v,
        object: obj,
        file: file.display,
        line,
        site: {
          type: 'yaml',
          file: file.display,
          docIndex: obj.docIndex,
          path: p,
          line,
          encoding: 'plain',
          object: obj,
        },
      });
    }
  }
  return out;
}

/** Where a connection string (DATABASE_URL…) is written, with the pool parameters it sets. */
export interface ConnectionStringSite {
  key: string;
  where:
    | 'env-value'
    | 'configmap'
    | 'secret-stringData'
    | 'secret-data'
    | 'env-file'
    | 'kustomize-literal'
    | 'kustomize-env-file';
  file: string;
  line: number;
  object?: K8sObject;
  /** The connection string with its password masked: safe to print. */
  masked: string;
  params: { pool_max_conns?: number; pool_min_conns?: number };
  /** A pool parameter is given twice: the site cannot be edited safely. */
  duplicateParam?: string;
  /** Containers that read this value (through env, valueFrom or envFrom). */
  usedBy: Array<{ workload: K8sObject; container: string }>;
  site: ValueSite;
}

/** A reference to a connection string the library cannot follow (object missing from the tree). */
export interface UnresolvedReference {
  key: string;
  workload: K8sObject;
  container: string;
  line: number;
  reason: string;
}

function siteKey(s: ValueSite): string {
  return s.type === 'env-file' ? `${s.file}#${s.key}` : `${s.file}#${s.docIndex}#${s.path.join('.')}`;
}

/**
 * Finds every place a connection string under one of `keys` (default DATABASE_URL) is written:
 * Deployment env values, ConfigMap data, Secret stringData and base64 data, `.env` files and
 * Kustomize generator literals, each with the containers that use it.
 */
export function findConnectionStrings(
  tree: ManifestTree,
  keys: string[] = ['DATABASE_URL'],
): { sites: ConnectionStringSite[]; unresolved: UnresolvedReference[] } {
  const wanted = new Set(keys);
  const byKey = new Map<string, ConnectionStringSite>();
  const unresolved: UnresolvedReference[] = [];
  const add = (
    key: string,
    value: string,
    where: ConnectionStringSite['where'],
    site: ValueSite,
    object?: K8sObject,
  ) => {
    const id = siteKey(site);
    if (byKey.has(id) || !isConnectionString(value)) return byKey.get(id);
    let params: ConnectionStringSite['params'] = {};
    let duplicateParam: string | undefined;
    try {
      const p = readParams(value, ['pool_max_conns', 'pool_min_conns']);
      params = {
        ...(p.pool_max_conns !== undefined ? { pool_max_conns: Number(p.pool_max_conns) } : {}),
        ...(p.pool_min_conns !== undefined ? { pool_min_conns: Number(p.pool_min_conns) } : {}),
      };
    } catch (error) {
      duplicateParam = (error as { param?: string }).param;
    }
    const s: ConnectionStringSite = {
      key,
      where,
      file: site.file,
      line: site.line,
      ...(object ? { object } : {}),
      masked: maskPasswords(value),
      params,
      ...(duplicateParam ? { duplicateParam } : {}),
      usedBy: [],
      site,
    };
    byKey.set(id, s);
    return s;
  };
  for (const d of [...readConfigMaps(tree), ...readSecrets(tree)]) {
    for (const [key, siteList] of Object.entries(d.sites)) {
      if (!wanted.has(key)) continue;
      for (const site of siteList) {
        if (site.type !== 'yaml') continue;
        const raw = yamlFileOf(tree, site).docs[site.docIndex]!.getIn(site.path);
        const value = site.encoding === 'base64' ? decodeBase64Text(String(raw)) : asString(raw);
        if (value === undefined) continue;
        const where =
          d.object.kind === 'ConfigMap'
            ? 'configmap'
            : site.encoding === 'base64'
              ? 'secret-data'
              : 'secret-stringData';
        add(key, value, where, site, d.object);
      }
    }
  }
  for (const g of tree.generated) {
    for (const k of g.keys) {
      if (!wanted.has(k.key)) continue;
      add(k.key, k.value, k.site.type === 'literal' ? 'kustomize-literal' : 'kustomize-env-file', k.site);
    }
  }
  for (const f of tree.files) {
    if (f.type !== 'env') continue;
    for (const e of f.entries) {
      if (!wanted.has(e.key) || e.value === undefined || e.multiline) continue;
      add(e.key, e.value, 'env-file', { type: 'env-file', file: f.display, key: e.key, line: e.line });
    }
  }
  for (const w of readWorkloads(tree)) {
    for (const c of w.containers) {
      for (const key of wanted) {
        const e = effectiveEnv(c, key);
        if (!e) continue;
        if (!e.resolved) {
          unresolved.push({
            key,
            workload: w.object,
            container: c.name,
            line: e.line,
            reason: e.unresolvedReason ?? 'not resolved',
          });
          continue;
        }
        for (const site of e.sites) {
          const s =
            byKey.get(siteKey(site)) ??
            (e.from === 'value' && e.value !== undefined
              ? add(key, e.value, 'env-value', site, w.object)
              : undefined);
          if (s) s.usedBy.push({ workload: w.object, container: c.name });
        }
      }
    }
  }
  return { sites: [...byKey.values()], unresolved };
}
