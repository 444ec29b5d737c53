import { describe, expect, test } from 'vitest';
import { renderK8s, renderK8sTemplate } from '../../../src/generate/k8s.js';
import { validatedKinds, validateObject } from '../../../src/generate/validate.js';

const deployment = (container: Record<string, unknown>, replicas: unknown = 1) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'worker' },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'worker' } },
    template: { metadata: { labels: { app: 'worker' } }, spec: { containers: [container] } },
  },
});

describe('schema validation (kubernetes-models, @kubernetes-models/keda)', () => {
  test.each<[string, Record<string, unknown>, string[]]>([
    [
      'a valid Deployment',
      deployment({ name: 'w', image: 'x', resources: { limits: { cpu: '4', memory: '2Gi' } } }),
      [],
    ],
    [
      'replicas as a string',
      deployment({ name: 'w', image: 'x' }, '3'),
      ['data/spec/replicas must be integer'],
    ],
    [
      'a CPU limit that is no quantity',
      deployment({ name: 'w', image: 'x', resources: { limits: { cpu: 'four' } } }),
      [
        'data/spec/template/spec/containers/0/resources/limits/cpu must be number',
        'data/spec/template/spec/containers/0/resources/limits/cpu must match format "quantity"',
        'data/spec/template/spec/containers/0/resources/limits/cpu must match exactly one schema in "oneOf"',
      ],
    ],
    [
      'a ScaledObject whose trigger value is a number',
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name: 'worker' },
        spec: {
          scaleTargetRef: { name: 'worker' },
          triggers: [{ type: 'rabbitmq', metadata: { value: 15 } }],
        },
      },
      ['data/spec/triggers/0/metadata/value must be string'],
    ],
    [
      'a kind without a registered schema',
      { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'x' } },
      ['no schema registered for cert-manager.io/v1/ClusterIssuer'],
    ],
  ])('%s', async (_name, obj, problems) => {
    expect(await validateObject(obj)).toEqual(problems);
  });

  test('every kind the templates write has a schema', () => {
    const kinds = new Set<string>();
    const { files } = renderK8s({
      profile: 'prod',
      namespace: 'sentinel',
      workload: 'default',
      host: 'h',
      registry: 'r',
      tag: 't',
    });
    for (const [name, text] of files) {
      if (!name.endsWith('.yaml') || name === 'kustomization.yaml') continue;
      for (const m of text.matchAll(/^apiVersion: (\S+)\nkind: (\S+)/gm)) kinds.add(`${m[1]}/${m[2]}`);
    }
    expect([...kinds].sort()).toEqual([...validatedKinds].sort());
  });
});

describe('template rendering', () => {
  test('a placeholder without a value is a bug, reported with the template', () => {
    expect(() => renderK8sTemplate('x.yaml', 'a: {{missing}}', {}, new Set())).toThrow(
      'templates/k8s/x.yaml: no value for {{missing}}',
    );
  });
});
