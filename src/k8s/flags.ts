/**
 * The flags of the `--k8s` branches, apart from the code behind them (commands.ts): every command
 * declares these at load time, and importing them must not load the Kubernetes client.
 */
import { Flags } from '@oclif/core';
import { DURATION_HINT, parseDuration } from '../lib/duration.js';

/** Where `generate k8s` takes the images from by default, and their tag. */
export const DEFAULT_REGISTRY = 'ghcr.io/harsh-bh';
export const DEFAULT_TAG = 'latest';

/** The image of `bench --k8s`'s shards when --image is not given: the same registry and tag. */
export const DEFAULT_BENCH_IMAGE = `${DEFAULT_REGISTRY}/sentinel-ctl:${DEFAULT_TAG}`;

/** The namespace `generate k8s` writes by default. */
export const DEFAULT_NAMESPACE = 'sentinel';

export const k8sOnly: { dependsOn: string[]; helpGroup: string } = {
  dependsOn: ['k8s'],
  helpGroup: 'KUBERNETES',
};

/** --k8s and the cluster selection, as kubectl has them. */
export const clusterFlags = {
  k8s: Flags.boolean({
    summary: 'Act on a Kubernetes cluster (the current kubeconfig context) instead of the local stack.',
    helpGroup: 'KUBERNETES',
  }),
  kubeconfig: Flags.string({
    summary: 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then in-cluster).',
    ...k8sOnly,
  }),
  context: Flags.string({ summary: 'kubeconfig context (default: its current context).', ...k8sOnly }),
  namespace: Flags.string({
    char: 'n',
    summary: `Namespace of the Sentinel objects and of their inventory (default: the context's; in a pod, its own; else ${DEFAULT_NAMESPACE}; up --manifests: the set's own).`,
    ...k8sOnly,
  }),
};

/** The CLI's one duration syntax (src/lib/duration.ts); 0 allowed (do not wait). */
const duration = Flags.custom<number>({
  parse: async (s) => {
    const ms = parseDuration(s);
    if (ms === undefined) throw new Error(`Expected ${DURATION_HINT}, got "${s}"`);
    return ms;
  },
  helpValue: '<duration>',
});

export const upK8sFlags = {
  ...clusterFlags,
  manifests: Flags.string({
    summary:
      'Apply this directory (Kustomize or plain YAML) or file instead of the `generate k8s` set of the profile.',
    ...k8sOnly,
  }),
  'dry-run': Flags.boolean({
    summary: 'Server-side dry run: show what would change, as a diff; exit 1 when something would.',
    ...k8sOnly,
  }),
  'force-conflicts': Flags.boolean({
    summary: 'Take over fields another field manager owns (server-side apply --force-conflicts).',
    ...k8sOnly,
  }),
  wait: Flags.boolean({
    summary: 'Wait for the Deployments and StatefulSets to be ready (--no-wait: return after the apply).',
    default: true,
    allowNo: true,
    // Not dependsOn: oclif applies the default and then demands --k8s (plain `up` exited 2).
    helpGroup: k8sOnly.helpGroup,
  }),
  timeout: duration({
    summary: 'How long to wait for the rollout (e.g. 90s, 5m).',
    default: 300_000,
    defaultHelp: async () => '5m',
    helpGroup: k8sOnly.helpGroup,
  }),
};

export const statusK8sFlags = clusterFlags;
export const downK8sFlags = clusterFlags;

export const diagnoseK8sFlags = {
  ...clusterFlags,
  'data-plane': Flags.boolean({
    summary:
      "With --k8s: also read RabbitMQ, the worker and the API through the API server's service proxy, and PostgreSQL/Redis from --database-url/--redis-url (--no-data-plane: pods, workloads and events only).",
    default: true,
    allowNo: true,
    // Not dependsOn: oclif applies the default and then demands --k8s.
    helpGroup: k8sOnly.helpGroup,
  }),
};
