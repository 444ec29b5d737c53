import { Flags } from '@oclif/core';
import { SentinelCommand } from '../../cli/base-command.js';
import { type GenerateK8sResult, generateK8s } from '../../generate/k8s.js';
import { DEFAULT_REGISTRY, DEFAULT_TAG } from '../../k8s/flags.js';
import { renderTable } from '../../lib/table.js';
import { kedaWorkloads } from '../../tuners/index.js';

export type { GenerateK8sResult };

export default class GenerateK8s extends SentinelCommand<GenerateK8sResult> {
  static override summary = 'Render a Kustomize-ready, tuned and validated Kubernetes manifest set.';
  static override description =
    `Everything the deployment guide lists, in its order: namespace with ResourceQuota and LimitRange, Secrets (placeholders marked REPLACE_ME, referenced by the workloads, never copied into ConfigMaps), ConfigMaps, PostgreSQL, a 3-node RabbitMQ for quorum queues and Redis with AOF as StatefulSets, the API Deployment with its HPA (CPU 70 %), the worker Deployment, the KEDA ScaledObject and TriggerAuthentication, the Ingress, NetworkPolicies (default deny, then one per component), the nsjail configs and kustomization.yaml; and, outside the kustomization, rbac/sentinel-ctl.yaml: the roles sentinel-ctl itself needs on the cluster (sentinel-ctl-read for status, diagnose and tune; sentinel-ctl-deploy for up and down; sentinel-ctl-bench for bench --k8s), for a cluster admin to apply once.

Tuned numbers come from the tuners for --profile (dev, staging, prod) and carry a comment with their formula and guide section: WORKER_POOL_SIZE and worker resources, pgx pools in each DATABASE_URL, max_connections for the API at its HPA maximum plus every execution KEDA allows, the ScaledObject for --workload, prefetch, RabbitMQ's watermark and disk limit, Redis maxmemory and policy, and a quota that lets every pod reach its peak.

Every object is validated against the Kubernetes and KEDA schemas before anything is written, and \`tune check\` runs over the result. A non-empty --out is refused unless --force is given.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --profile prod --out deploy/k8s',
    '<%= config.bin %> <%= command.id %> --profile dev --out /tmp/k8s-dev --workload bursty',
    '<%= config.bin %> <%= command.id %> --profile staging --out deploy/staging \\\n    --host sentinel.example.org --tag v1.4.2 --force',
  ];
  static override flags = {
    out: Flags.directory({
      summary: 'Directory to write into (created when missing; must be empty without --force).',
      required: true,
    }),
    force: Flags.boolean({ summary: 'Overwrite the generated files in a non-empty --out.' }),
    namespace: Flags.string({ summary: 'Kubernetes namespace.', default: 'sentinel' }),
    workload: Flags.option({ options: kedaWorkloads, default: 'default' as const })({
      summary: "KEDA settings: the guide's defaults, bursty or steady.",
    }),
    host: Flags.string({ summary: 'Public host name of the Ingress.', default: 'sentinel.example.com' }),
    registry: Flags.string({
      summary: 'Image registry of sentinel-api and sentinel-worker.',
      default: DEFAULT_REGISTRY,
    }),
    tag: Flags.string({ summary: 'Image tag.', default: DEFAULT_TAG }),
  };

  async run(): Promise<GenerateK8sResult> {
    const { flags } = await this.parse(GenerateK8s);
    const { config } = this.loadConfig(flags);
    const result = await generateK8s({
      profile: config.profile,
      namespace: flags.namespace,
      workload: flags.workload,
      host: flags.host,
      registry: flags.registry,
      tag: flags.tag,
      out: flags.out,
      force: flags.force,
    });
    if (!this.jsonEnabled()) {
      this.log(
        renderTable(
          ['FILE', 'OBJECTS'],
          result.files.map((f) => [f.file, f.objects.join(', ') || '-']),
        ),
      );
      this.log('');
      this.log(
        renderTable(
          ['TUNED', 'VALUE', 'REASON'],
          result.tuned.map((t) => [t.name, t.value, t.reason]),
        ),
      );
      for (const f of result.check.findings) this.warnUser(`${f.id}: ${f.message} ${f.fix}`);
      this.note(
        `${result.validated} objects valid against the Kubernetes and KEDA schemas; tune check passed (${result.check.passed.length} checks) in ${result.outDir}. Replace every REPLACE_ME in 01-secrets.yaml, then: sentinel-ctl up --k8s --manifests ${flags.out} (or kubectl apply -k ${flags.out}); a cluster admin applies rbac/sentinel-ctl.yaml once.`,
      );
    }
    return result;
  }
}
