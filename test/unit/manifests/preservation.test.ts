import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  applyPlan,
  formatPlanDiff,
  loadManifestTree,
  type ManifestEdit,
  planEdits,
} from '../../../src/manifests/index.js';
import { expectGolden } from '../../helpers/files.js';
import { cleanupTemps, copyFixture, FIXTURES, snapshot } from './helpers.js';

afterAll(cleanupTemps);

const styles = path.join(FIXTURES, 'styles');
const cm = (key: string, value: string): ManifestEdit => ({
  op: 'set-configmap-key',
  configMap: { name: 'quoting' },
  key,
  value,
});

/** One scenario per fixture file: the edits, and what they exercise. */
const SCENARIOS: Array<[string, ManifestEdit[]]> = [
  [
    'quoting.yaml',
    [
      cm('PLAIN', 'new-plain'), // plain stays plain
      cm('SINGLE', "it's here"), // single quotes, quote doubled
      cm('DOUBLE', 'new "quoted"'), // double quotes, escaped
      cm('NUMBERISH', '43'), // a string that looks like a number stays quoted
      cm('BOOLISH', 'on'), // plain "on" would be a boolean to Kubernetes (YAML 1.1): quoted
      // URL params in plain, single-quoted (percent-encoded password) and escaped double-quoted values
      {
        op: 'set-pool-params',
        keys: ['PLAIN_URL', 'SINGLE_URL', 'ESCAPED_URL'],
        params: { pool_max_conns: 12 },
      },
      cm('LITERAL', 'line one\nline 2\n'), // only the changed line of a literal block
      { op: 'set-configmap-key', configMap: { name: 'flow-style' }, key: 'WORKER_POOL_SIZE', value: '8' },
      { op: 'set-configmap-key', configMap: { name: 'flow-style' }, key: 'NEW_KEY', value: 'x y' }, // into a flow map
    ],
  ],
  [
    'workloads.yaml',
    [
      { op: 'set-env', workload: { name: 'styled' }, container: 'main', name: 'C', value: '3' }, // flow list append
      { op: 'set-env', workload: { name: 'styled' }, container: 'side', name: 'B', value: '22' }, // trailing comment kept
      {
        op: 'set-resources',
        workload: { name: 'styled' },
        container: 'main',
        resources: { limits: { memory: '1Gi' } },
      }, // `resources:` empty
      {
        op: 'set-resources',
        workload: { name: 'styled' },
        container: 'side',
        resources: { requests: { cpu: 0.25 } },
      }, // no key yet
      { op: 'set-replicas', workload: { name: 'styled' }, replicas: 2 },
      { op: 'set-max-connections', value: 250 }, // CloudNativePG parameters (a string there)
      { op: 'set-field', object: { kind: 'Cluster', name: 'pg' }, path: ['spec', 'instances'], value: 2 },
    ],
  ],
  ['postgres-noargs.yaml', [{ op: 'set-max-connections', value: 250 }]], // added as -c args, exporter ignored
  ['conf-nosetting.yaml', [{ op: 'set-max-connections', value: 250 }]], // added after the commented default
];

describe('rewrites keep every unrelated byte', () => {
  test.each(SCENARIOS)('%s: golden diff and bytes; a second run changes nothing', (file, edits) => {
    const dir = copyFixture('styles');
    const tree = loadManifestTree(path.join(dir, file), { base: dir });
    const plan = planEdits(tree, edits);
    expect(plan.files.map((f) => f.display)).toEqual([file]);
    expectGolden(`manifests/styles.golden/${file.replace(/\.yaml$/, '.diff')}`, formatPlanDiff(plan));
    expectGolden(`manifests/styles.golden/${file.replace(/\.yaml$/, '.golden.yaml')}`, plan.files[0]!.after);
    // The result parses without errors into the same number of documents.
    const docs = parseAllDocuments(plan.files[0]!.after);
    expect(Array.isArray(docs) && docs.every((d) => d.errors.length === 0)).toBe(true);
    applyPlan(plan);
    const after = snapshot(dir);
    const again = planEdits(loadManifestTree(path.join(dir, file), { base: dir }), edits);
    expect(again.files).toEqual([]);
    applyPlan(again);
    expect(snapshot(dir)).toEqual(after);
  });

  test('CRLF files keep CRLF, in changed and in added lines', () => {
    const dir = copyFixture('styles');
    for (const f of ['quoting.yaml', 'workloads.yaml']) {
      const p = path.join(dir, f);
      writeFileSync(p, readFileSync(p, 'utf8').replace(/\n/g, '\r\n'));
    }
    for (const [file, edits] of SCENARIOS.slice(0, 2)) {
      const plan = planEdits(loadManifestTree(path.join(dir, file), { base: dir }), edits);
      const after = plan.files[0]!.after;
      expect(after.replace(/\r\n/g, '')).not.toContain('\n'); // no bare LF anywhere
      const golden = readFileSync(
        path.join(FIXTURES, 'styles.golden', file.replace(/\.yaml$/, '.golden.yaml')),
        'utf8',
      );
      expect(after).toBe(golden.replace(/\n/g, '\r\n'));
      applyPlan(plan);
      expect(planEdits(loadManifestTree(path.join(dir, file), { base: dir }), edits).files).toEqual([]);
    }
  });

  test('the library does not re-stringify: String(doc) would reformat these files', async () => {
    // Guard for the design choice (docs/design.md "Manifests": edit documents, never re-dump): the yaml printer
    // changes flow spacing and comment spacing, which a reviewer would see as noise.
    const { parseDocument } = await import('yaml');
    const src = readFileSync(path.join(styles, 'workloads.yaml'), 'utf8').split('---')[0]!;
    expect(String(parseDocument(src))).not.toBe(src);
  });
});
