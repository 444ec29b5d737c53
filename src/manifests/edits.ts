/**
 * The vocabulary of manifest editing: the edits `tune` asks for (set-env, set-resources,
 * set-max-connections, …) and the plan that answers them (changes, files with masked diffs).
 */
import type { FileProblem } from './errors.js';
import type { ObjectSelector } from './tree.js';
import type { PatchValue, PathSeg } from './yaml-edit.js';

/** CPU/memory requests and limits to set; values are Kubernetes quantities (`500m`, `1Gi`, 2). */
export interface ResourcesPatch {
  requests?: { cpu?: string | number; memory?: string };
  limits?: { cpu?: string | number; memory?: string };
}

export interface HpaRulesPatch {
  stabilizationWindowSeconds?: number;
  selectPolicy?: 'Max' | 'Min' | 'Disabled';
  /** The whole policy list: same length → changed item by item, else replaced. */
  policies?: Array<{ type: 'Pods' | 'Percent'; value: number; periodSeconds: number }>;
}

export interface ScaledObjectPatch {
  pollingInterval?: number;
  cooldownPeriod?: number;
  minReplicaCount?: number;
  maxReplicaCount?: number;
  idleReplicaCount?: number;
  /** Trigger metadata to set; the trigger is picked by name, else by type (must be unique), else index. */
  triggers?: Array<{
    name?: string;
    type?: string;
    index?: number;
    metadata: Record<string, string | number>;
  }>;
  /** spec.advanced.horizontalPodAutoscalerConfig.behavior */
  behavior?: { scaleUp?: HpaRulesPatch; scaleDown?: HpaRulesPatch };
}

interface EditBase {
  /** Why: shown next to the change (e.g. the tuner's formula with its inputs). */
  reason?: string;
}

/** One change to make to the tree. Every edit is minimal and a no-op when the value is already right. */
export type ManifestEdit = EditBase &
  (
    | {
        /** Set a container env var: its inline value, or the ConfigMap/Secret key it references; appended if absent. */
        op: 'set-env';
        workload: ObjectSelector;
        /** Needed when the pod has several containers. */
        container?: string;
        name: string;
        value: string;
      }
    | { op: 'set-resources'; workload: ObjectSelector; container?: string; resources: ResourcesPatch }
    | { op: 'set-replicas'; workload: ObjectSelector; replicas: number }
    | { op: 'set-configmap-key'; configMap: ObjectSelector; key: string; value: string }
    | {
        /** PostgreSQL max_connections wherever it is set (postgresql.conf key, `-c` args, operator parameters). */
        op: 'set-max-connections';
        value: number;
        /** Limit to one object (the ConfigMap, StatefulSet or Cluster). */
        target?: ObjectSelector;
      }
    | { op: 'patch-scaled-object'; scaledObject?: ObjectSelector; patch: ScaledObjectPatch }
    | {
        /** pool_max_conns / pool_min_conns inside every DATABASE_URL (env value, ConfigMap, Secret, .env, Kustomize literal). */
        op: 'set-pool-params';
        params: { pool_max_conns?: number; pool_min_conns?: number };
        /** Variable names holding the connection string. Default ['DATABASE_URL']. */
        keys?: string[];
        /** Only the connection strings this workload reads (e.g. the API, not the worker). */
        workload?: ObjectSelector;
        /** Include `.env` files (default true). */
        envFiles?: boolean;
      }
    | {
        op: 'set-env-file-var';
        name: string;
        value: string /** Display path; default every env file. */;
        file?: string;
      }
    | {
        /**
         * Set one key of a Secret, adding it if absent; the Secret's other keys are left as they are.
         * A new key goes where `like` is (base64 `data` or `stringData`), else where the Secret keeps
         * its values (stringData when it has only that). Values are masked in diffs and changes.
         */
        op: 'set-secret-key';
        secret: ObjectSelector;
        key: string;
        value: string;
        like?: string;
      }
    | { op: 'set-field'; object: ObjectSelector; path: PathSeg[]; value: PatchValue }
  );

/** One changed value, safe to print (secrets masked). */
export interface PlannedChange {
  file: string;
  line: number;
  /** `Kind/name` of the object, when the value is in one. */
  object?: string;
  field: string;
  from?: string;
  to: string;
  reason?: string;
}

/** One file to rewrite. `before` and `after` hold real bytes (secrets included) and are not enumerable. */
export interface PlannedFile {
  path: string;
  display: string;
  mode: number;
  /** Unified diff with secrets masked: safe to print. */
  diff: string;
  /**
   * True when `diff` differs from the diff of the real bytes (a secret or password was masked in a
   * hunk): such a diff is for reading; `git apply` would fail or write the mask.
   */
  masked: boolean;
  readonly before: string;
  readonly after: string;
  /** The unified diff of the real bytes (secrets included), for `--show-secrets`; not enumerable. */
  readonly rawDiff: string;
}

export interface ManifestPlan {
  base: string;
  /** Only files whose bytes change. */
  files: PlannedFile[];
  changes: PlannedChange[];
  /** Things the user should know: references the library could not follow, values KEDA overrides… */
  warnings: string[];
  /** Edits refused (only filled with `collectRefusals`; otherwise planEdits throws). */
  refusals: FileProblem[];
}

export interface PlanOptions {
  /** Return refused edits in `plan.refusals` and plan the rest, instead of throwing ManifestRefusal. */
  collectRefusals?: boolean;
  /** Lines of context in the diffs (default 3). */
  context?: number;
}
