/** One handler per edit kind: where the edit applies in the tree and which fields change. */
import { isMap } from 'yaml';
import { DuplicateParamError, setParams } from './conn-string.js';
import type { ManifestEdit } from './edits.js';
import { refuse } from './errors.js';
import { POSTGRES_IMAGE } from './images.js';
import { isSecretKey, maskValue } from './mask.js';
import { DuplicateSettingError, setConfSetting } from './pg-conf.js';
import { type Json, looseEquals, type Planner } from './planner.js';
import { findConnectionStrings, findMaxConnections } from './postgres-sites.js';
import { quantityEquals } from './quantity.js';
import { effectiveEnv, POD_SPEC, readSecrets, type ValueSite } from './read.js';
import { readScaledObjects } from './scaling.js';
import { type K8sObject, matchesSelector, objectLabel, yamlFileOf } from './tree.js';
import type { PathSeg } from './yaml-edit.js';

export type Handler<K extends ManifestEdit['op']> = (p: Planner, e: Extract<ManifestEdit, { op: K }>) => void;

const setEnv: Handler<'set-env'> = (p, e) => {
  const obj = p.select(e.workload, ['Deployment', 'StatefulSet']);
  const w = p.workloadOf(obj);
  const c = p.container(w, e.container);
  const listPath = [...POD_SPEC, c.init ? 'initContainers' : 'containers', c.index, 'env'];
  const explicit = c.env.filter((x) => x.name === e.name);
  if (explicit.length > 1) {
    refuse(
      obj.file,
      explicit[1]!.line,
      `env ${e.name} is given ${explicit.length} times in container ${c.name} (lines ${explicit.map((x) => x.line).join(', ')}); Kubernetes keeps the last, so remove the duplicate first`,
    );
  }
  const v = explicit[0] ?? effectiveEnv(c, e.name);
  if (v && v.from !== 'value') {
    if (v.from === 'fieldRef' || v.from === 'resourceFieldRef' || v.from === 'none' || !v.resolved) {
      if (v.from === 'envFrom' && !v.resolved) {
        p.warnings.push(
          `${objectLabel(obj)} container ${c.name}: ${e.name} may also come from envFrom (${v.unresolvedReason}); the explicit env entry added takes precedence`,
        );
      } else {
        refuse(
          obj.file,
          v.line,
          v.ref
            ? `env ${e.name} of container ${c.name} comes from ${v.ref.kind} ${v.ref.name} key ${v.ref.key}, but ${v.unresolvedReason ?? 'it cannot be read'}; change it where it is defined`
            : `env ${e.name} of container ${c.name} is filled in by Kubernetes at run time (${v.from}); there is no value to change`,
        );
      }
    } else {
      for (const site of v.sites) {
        const r = p.transformSite(site, () => e.value);
        if (r) {
          const secret = p.isSecretSite(site, e.name);
          p.record({
            file: site.file,
            line: site.line,
            ...p.siteLabel(site),
            ...(r.from !== undefined ? { from: maskValue(r.from, secret) } : {}),
            to: maskValue(r.to, secret),
            ...(e.reason ? { reason: e.reason } : {}),
          });
        }
      }
      return;
    }
  }
  const ed = p.yaml(obj.file);
  if (v && v.from === 'value') {
    const idx = c.env.indexOf(v);
    const site = v.sites[0]!;
    const current = v.value;
    if (current === e.value) return;
    p.guardPath(obj, listPath, [`[name=${e.name}]`, 'value']);
    ed.patch(obj.docIndex, [...listPath, idx, 'value'], e.value, { equals: looseEquals });
    const secret = isSecretKey(e.name);
    p.record({
      file: obj.file,
      line: site.line,
      object: objectLabel(obj),
      field: `containers[${c.name}].env[${e.name}]`,
      ...(current !== undefined ? { from: maskValue(current, secret) } : {}),
      to: maskValue(e.value, secret),
      ...(e.reason ? { reason: e.reason } : {}),
    });
    return;
  }
  p.guardPath(obj, listPath, [`[name=${e.name}]`]);
  ed.append(obj.docIndex, listPath, { name: e.name, value: e.value });
  p.record({
    file: obj.file,
    line: c.line,
    object: objectLabel(obj),
    field: `containers[${c.name}].env[${e.name}]`,
    to: maskValue(e.value, isSecretKey(e.name)),
    ...(e.reason ? { reason: e.reason } : {}),
  });
};

const setResources: Handler<'set-resources'> = (p, e) => {
  const obj = p.select(e.workload, ['Deployment', 'StatefulSet']);
  const c = p.container(p.workloadOf(obj), e.container);
  const base = [...POD_SPEC, c.init ? 'initContainers' : 'containers', c.index, 'resources'];
  p.patchObject(obj, base, e.resources as Json, e.reason, { equals: quantityEquals });
};

const setReplicas: Handler<'set-replicas'> = (p, e) => {
  const obj = p.select(e.workload, ['Deployment', 'StatefulSet']);
  const scaler = readScaledObjects(p.tree).find((s) => s.scaleTargetRef?.name === obj.name);
  if (scaler) {
    p.warnings.push(
      `${objectLabel(obj)} is scaled by ScaledObject ${scaler.object.name} (${scaler.object.file}); KEDA overrides spec.replicas`,
    );
  }
  p.patchObject(obj, ['spec', 'replicas'], e.replicas, e.reason, { equals: looseEquals });
};

const setConfigMapKey: Handler<'set-configmap-key'> = (p, e) => {
  const found = p.tree.objects.filter((o) => o.kind === 'ConfigMap' && matchesSelector(o, e.configMap));
  if (found.length === 0) {
    const gen = p.tree.generated.find((g) => g.kind === 'ConfigMap' && g.name === e.configMap.name);
    const key = gen?.keys.find((k) => k.key === e.key);
    if (gen && key) {
      const r = p.transformSite({ ...key.site } as ValueSite, () => e.value);
      if (r) {
        p.record({
          file: key.site.file,
          line: key.site.line,
          field: `${e.configMap.name}.${e.key}`,
          ...(r.from !== undefined ? { from: maskValue(r.from, isSecretKey(e.key)) } : {}),
          to: maskValue(r.to, isSecretKey(e.key)),
          ...(e.reason ? { reason: e.reason } : {}),
        });
      }
      return;
    }
    if (gen) {
      refuse(
        gen.kustomization,
        gen.line,
        `ConfigMap ${gen.name} is generated here and has no literal or env-file key ${e.key}; add it by hand`,
      );
    }
  }
  const obj = p.select({ ...e.configMap, kind: 'ConfigMap' }, ['ConfigMap']);
  p.patchObject(obj, ['data', e.key], e.value, e.reason, { equals: looseEquals });
};

const setMaxConnections: Handler<'set-max-connections'> = (p, e) => {
  const v = Math.round(e.value);
  let sites = findMaxConnections(p.tree);
  if (e.target) sites = sites.filter((s) => matchesSelector(s.object, e.target!));
  const rec = (line: number, object: K8sObject, field: string, from: number | undefined) => {
    p.record({
      file: object.file,
      line,
      object: objectLabel(object),
      field,
      ...(from !== undefined ? { from: String(from) } : {}),
      to: String(v),
      ...(e.reason ? { reason: e.reason } : {}),
    });
  };
  if (sites.length > 0) {
    // Two settings in the same arg list: PostgreSQL keeps one, the library won't guess which was meant.
    const perItem = new Map<string, number>();
    for (const s of sites) {
      const k = `${s.file}#${(s.site as { path: PathSeg[] }).path.join('.')}`;
      perItem.set(k, (perItem.get(k) ?? 0) + 1);
      if (s.where !== 'postgresql.conf' && (perItem.get(k) ?? 0) > 1) {
        refuse(
          s.file,
          s.line,
          `max_connections is given twice in the same ${s.where} entry; remove the duplicate first`,
        );
      }
    }
    for (const s of sites) {
      if (s.value === v) continue;
      if (s.where === 'postgresql.conf') {
        try {
          p.transformSite(s.site, (text) => setConfSetting(text, 'max_connections', v));
        } catch (error) {
          if (error instanceof DuplicateSettingError) {
            refuse(
              s.file,
              s.line,
              `max_connections is set ${error.lines.length} times in ${s.key}; remove the duplicate first`,
            );
          }
          throw error;
        }
        rec(s.line, s.object, `data.${s.key} max_connections`, s.value);
      } else if (s.where === 'operator-parameters') {
        p.guardPath(s.object, (s.site as { path: PathSeg[] }).path);
        p.transformSite(s.site, () => String(v));
        rec(s.line, s.object, 'spec.postgresql.parameters.max_connections', s.value);
      } else {
        const item = s.item!;
        p.transformSite(s.site, (str) => str.slice(0, item.start) + String(v) + str.slice(item.end));
        rec(s.line, s.object, `containers[${s.container}].${s.where} max_connections`, s.value);
      }
    }
    return;
  }
  // Not set anywhere: add it to a postgresql.conf key if there is one, else to the server's args.
  for (const obj of p.tree.objects) {
    if (obj.kind !== 'ConfigMap' || (e.target && !matchesSelector(obj, e.target))) continue;
    const data = yamlFileOf(p.tree, obj).docs[obj.docIndex]!.get('data', true);
    if (!isMap(data)) continue;
    const key = data.items
      .map((x) => String((x.key as { value?: unknown }).value))
      .find((k) => k === 'postgresql.conf');
    if (!key) continue;
    const site: ValueSite = {
      type: 'yaml',
      file: obj.file,
      docIndex: obj.docIndex,
      path: ['data', key],
      line: obj.line,
      encoding: 'plain',
      object: obj,
    };
    p.transformSite(site, (text) => setConfSetting(text, 'max_connections', v));
    rec(obj.line, obj, `data.${key} max_connections`, undefined);
    return;
  }
  const pg = p.workloads
    .filter((w) => !e.target || matchesSelector(w.object, e.target))
    .flatMap((w) =>
      w.containers.filter((c) => !c.init && c.image && POSTGRES_IMAGE.test(c.image)).map((c) => ({ w, c })),
    );
  if (pg.length !== 1) {
    refuse(
      pg[1]?.w.object.file ?? '.',
      pg[1]?.c.line ?? 0,
      pg.length === 0
        ? 'max_connections is not set anywhere and no PostgreSQL container or postgresql.conf ConfigMap key was found; pass the target'
        : `max_connections is not set anywhere and ${pg.length} PostgreSQL containers were found; pass the target`,
    );
  }
  const { w, c } = pg[0]!;
  if (c.command.length > 0 && c.args.length === 0) {
    refuse(
      w.object.file,
      c.line,
      `container ${c.name} sets command without args; add -c max_connections=${v} to its command by hand`,
    );
  }
  const argsPath = [...POD_SPEC, 'containers', c.index, 'args'];
  p.guardPath(w.object, argsPath);
  const ed = p.yaml(w.object.file);
  // The official image's entrypoint runs `postgres "$@"` when the first argument starts with "-".
  if (c.args.length > 0) {
    ed.append(w.object.docIndex, argsPath, '-c');
    ed.append(w.object.docIndex, argsPath, `max_connections=${v}`);
  } else ed.patch(w.object.docIndex, argsPath, ['-c', `max_connections=${v}`]);
  rec(c.line, w.object, `containers[${c.name}].args max_connections`, undefined);
};

const patchScaledObject: Handler<'patch-scaled-object'> = (p, e) => {
  const all = p.tree.objects.filter((o) => o.kind === 'ScaledObject');
  const obj = e.scaledObject
    ? p.select({ ...e.scaledObject, kind: 'ScaledObject' }, ['ScaledObject'])
    : all.length === 1
      ? all[0]!
      : refuse(
          '.',
          0,
          all.length === 0
            ? 'no ScaledObject in the manifest tree'
            : `${all.length} ScaledObjects in the tree (${all.map((o) => o.name).join(', ')}); say which one`,
        );
  const { triggers, behavior, ...top } = e.patch;
  const spec: Record<string, Json> = {};
  for (const [k, v] of Object.entries(top)) if (v !== undefined) spec[k] = v;
  if (behavior) {
    const b: Record<string, Json> = {};
    for (const dir of ['scaleUp', 'scaleDown'] as const) {
      const r = behavior[dir];
      if (!r) continue;
      const rr: Record<string, Json> = {};
      for (const [k, v] of Object.entries(r)) if (v !== undefined) rr[k] = v as Json;
      b[dir] = rr;
    }
    spec.advanced = { horizontalPodAutoscalerConfig: { behavior: b } };
  }
  if (Object.keys(spec).length > 0) p.patchObject(obj, ['spec'], spec, e.reason, { equals: looseEquals });
  if (triggers) {
    const info = readScaledObjects(p.tree).find((s) => s.object === obj)!;
    for (const t of triggers) {
      let idx = t.index;
      if (idx === undefined && t.name !== undefined) idx = info.triggers.findIndex((x) => x.name === t.name);
      if (idx === undefined && t.type !== undefined) {
        const same = info.triggers.map((x, i) => (x.type === t.type ? i : -1)).filter((i) => i !== -1);
        if (same.length > 1)
          refuse(
            obj.file,
            info.triggers[same[1]!]!.line,
            `${same.length} ${t.type} triggers; name the one to change`,
          );
        idx = same[0];
      }
      if (idx === undefined || idx < 0 || idx >= info.triggers.length) {
        refuse(obj.file, obj.line, `ScaledObject ${obj.name} has no trigger ${t.name ?? t.type ?? t.index}`);
      }
      // KEDA trigger metadata values are strings.
      const meta = Object.fromEntries(Object.entries(t.metadata).map(([k, v]) => [k, String(v)]));
      p.patchObject(obj, ['spec', 'triggers', idx, 'metadata'], meta, e.reason, { equals: looseEquals });
    }
  }
};

const setPoolParams: Handler<'set-pool-params'> = (p, e) => {
  const keys = e.keys ?? ['DATABASE_URL'];
  const { sites, unresolved } = findConnectionStrings(p.tree, keys);
  const wl = e.workload ? p.select(e.workload, ['Deployment', 'StatefulSet']) : undefined;
  const chosen = sites.filter((s) =>
    s.site.type === 'env-file' || s.where === 'kustomize-env-file'
      ? e.envFiles !== false && (!wl || s.usedBy.length === 0 || s.usedBy.some((u) => u.workload === wl))
      : !wl || s.usedBy.some((u) => u.workload === wl),
  );
  for (const u of unresolved) {
    if (wl && u.workload !== wl) continue;
    p.warnings.push(
      `${objectLabel(u.workload)} container ${u.container} reads ${u.key} from outside the tree (${u.reason}); set ${Object.keys(e.params).join(' and ')} there by hand (${u.workload.file}:${u.line})`,
    );
  }
  if (wl) {
    for (const c of p.workloadOf(wl).containers) {
      for (const key of keys) {
        const dup = c.env.filter((x) => x.name === key);
        if (dup.length > 1)
          refuse(
            wl.file,
            dup[1]!.line,
            `env ${key} is given ${dup.length} times in container ${c.name}; remove the duplicate first`,
          );
      }
    }
  }
  if (chosen.length === 0) {
    if (unresolved.length > 0) return;
    refuse(
      '.',
      0,
      `no ${keys.join(' or ')} connection string found${wl ? ` for ${objectLabel(wl)}` : ''} in the manifest tree`,
    );
  }
  const params = Object.fromEntries(Object.entries(e.params).filter(([, v]) => v !== undefined)) as Record<
    string,
    number
  >;
  for (const s of chosen) {
    if (s.duplicateParam)
      refuse(
        s.file,
        s.line,
        `${s.key} sets ${s.duplicateParam} more than once; the driver's choice is not obvious, fix it by hand`,
      );
    let r: { from?: string; to: string } | undefined;
    try {
      r = p.transformSite(s.site, (url) => setParams(url, params));
    } catch (error) {
      if (error instanceof DuplicateParamError)
        refuse(s.file, s.line, `${s.key} sets ${error.param} more than once; fix it by hand`);
      throw error;
    }
    if (!r) continue;
    const label = p.siteLabel(s.site);
    for (const [k, v] of Object.entries(params)) {
      const before = s.params[k as keyof typeof s.params];
      if (before === v) continue;
      p.record({
        file: s.file,
        line: s.line,
        ...label,
        field: `${s.key} ${k}${label.field === s.key ? '' : ` (${label.field})`}`,
        ...(before !== undefined ? { from: String(before) } : {}),
        to: String(v),
        ...(e.reason ? { reason: e.reason } : {}),
      });
    }
  }
};

const setEnvFileVar: Handler<'set-env-file-var'> = (p, e) => {
  const files = p.tree.files.filter(
    (f) => f.type === 'env' && (e.file === undefined || f.display === e.file),
  );
  if (files.length === 0)
    refuse(e.file ?? '.', 0, e.file ? `${e.file} is not a loaded env file` : 'no env file in the tree');
  for (const f of files) {
    const ed = p.env(f.display);
    const old = ed.get(e.name);
    if (old === e.value) continue;
    ed.set(e.name, e.value);
    const secret = isSecretKey(e.name);
    const entry = f.type === 'env' ? f.entries.find((x) => x.key === e.name) : undefined;
    p.record({
      file: f.display,
      line: entry?.line ?? 0,
      field: e.name,
      ...(old !== undefined ? { from: maskValue(old, secret) } : {}),
      to: maskValue(e.value, secret),
      ...(e.reason ? { reason: e.reason } : {}),
    });
  }
};

const setSecretKey: Handler<'set-secret-key'> = (p, e) => {
  const found = p.tree.objects.filter((o) => o.kind === 'Secret' && matchesSelector(o, e.secret));
  if (found.length === 0) {
    const gen = p.tree.generated.find((g) => g.kind === 'Secret' && g.name === e.secret.name);
    if (gen) {
      refuse(
        gen.kustomization,
        gen.line,
        `Secret ${gen.name} is generated here; add the key ${e.key} to its literals or env file by hand`,
      );
    }
  }
  const obj = p.select({ ...e.secret, kind: 'Secret' }, ['Secret']);
  const data = readSecrets(p.tree).find((d) => d.object === obj)!;
  const existing = data.sites[e.key]?.at(-1);
  if (existing) {
    const r = p.transformSite(existing, () => e.value);
    if (r)
      p.record({
        file: obj.file,
        line: existing.line,
        object: objectLabel(obj),
        field: existing.type === 'yaml' ? existing.path.join('.') : e.key,
        ...(r.from !== undefined ? { from: maskValue(r.from, true) } : {}),
        to: maskValue(r.to, true),
        ...(e.reason ? { reason: e.reason } : {}),
      });
    return;
  }
  const likeSite = e.like ? data.sites[e.like]?.at(-1) : undefined;
  const doc = yamlFileOf(p.tree, obj).docs[obj.docIndex]!;
  const section =
    likeSite?.type === 'yaml'
      ? String(likeSite.path[0])
      : isMap(doc.get('data', true)) || !isMap(doc.get('stringData', true))
        ? 'data'
        : 'stringData';
  const stored = section === 'data' ? Buffer.from(e.value, 'utf8').toString('base64') : e.value;
  p.patchObject(obj, [section, e.key], stored, e.reason);
  // patchObject masks a Secret's values entirely; a connection string reads better with only its
  // password masked (as the diff shows it), so the change list says which URL was added.
  const last = p.changes.at(-1);
  if (last?.field.endsWith(e.key)) last.to = maskValue(e.value, true);
};

const setField: Handler<'set-field'> = (p, e) => {
  const obj = p.select(
    e.object,
    e.object.kind ? [e.object.kind] : [...new Set(p.tree.objects.map((o) => o.kind))],
  );
  p.patchObject(obj, e.path, e.value, e.reason);
};

export const handlers: { [K in ManifestEdit['op']]: Handler<K> } = {
  'set-env': setEnv,
  'set-resources': setResources,
  'set-replicas': setReplicas,
  'set-configmap-key': setConfigMapKey,
  'set-max-connections': setMaxConnections,
  'patch-scaled-object': patchScaledObject,
  'set-pool-params': setPoolParams,
  'set-env-file-var': setEnvFileVar,
  'set-secret-key': setSecretKey,
  'set-field': setField,
};
