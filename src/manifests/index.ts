/**
 * Manifest editing for `tune --write`: load a tree of Kubernetes YAML and `.env` files, read what
 * the tuners need, plan minimal edits (masked unified diffs), apply them atomically.
 * docs/design.md "Manifests"; docs/design.md "Logic and I/O" (read, plan, apply).
 */

export { applyPlan } from './apply.js';
export { isConnectionString, maskPasswords, readParams, setParams } from './conn-string.js';
export type {
  HpaRulesPatch,
  ManifestEdit,
  ManifestPlan,
  PlannedChange,
  PlannedFile,
  PlanOptions,
  ResourcesPatch,
  ScaledObjectPatch,
} from './edits.js';
export { type FileProblem, ManifestParseError, ManifestRefusal } from './errors.js';
export { type LoadOptions, listManifestFiles, loadManifestTree, treeFromTexts } from './load.js';
export { maskEnvText, maskYamlText } from './mask.js';
export { findArgSetting, readConfSetting, setConfSetting } from './pg-conf.js';
export { formatPlanDiff, planEdits } from './plan.js';
export {
  type ConnectionStringSite,
  findConnectionStrings,
  findMaxConnections,
  type MaxConnectionsSite,
  type UnresolvedReference,
} from './postgres-sites.js';
export { parseQuantity, type Quantity, quantityEquals } from './quantity.js';
export {
  type ContainerInfo,
  type ContainerResources,
  type DataObject,
  type EnvVar,
  effectiveEnv,
  readConfigMaps,
  readSecrets,
  readWorkloads,
  type ValueSite,
  type Workload,
} from './read.js';
export {
  type HpaScalingPolicy,
  type HpaScalingRules,
  managementUrlFromAmqp,
  readScaledObjects,
  SCALED_OBJECT_COUNTS,
  type ScaledObjectInfo,
  type ScaledObjectTrigger,
  type TriggerHostRef,
  triggerHostRef,
} from './scaling.js';
export type { GeneratedObject, K8sObject, KustomizeEffect, ManifestTree, ObjectSelector } from './tree.js';
export type { PatchValue, PathSeg } from './yaml-edit.js';
