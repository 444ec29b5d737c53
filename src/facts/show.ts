/** How values read in the facts and recommendation tables. */
import type { HpaScalingRules } from '../manifests/index.js';
import { formatCpu, formatMemory, GIB, type ScalingRules } from '../tuners/index.js';

/** `Max(5 pods/30s, 100%/30s), 0s window`. */
export function rulesText(r: HpaScalingRules | ScalingRules): string {
  const ps = r.policies.map(
    (p) => `${p.type === 'Pods' ? `${p.value} pods` : `${p.value}%`}/${p.periodSeconds}s`,
  );
  return `${r.selectPolicy ?? 'Max'}(${ps.join(', ')}), ${r.stabilizationWindowSeconds === undefined ? 'default' : `${r.stabilizationWindowSeconds}s`} window`;
}

/** `4 cores`, `500m`. */
export function cpuText(millicores: number): string {
  const s = formatCpu(millicores);
  return /m$/.test(s) ? s : `${s} ${s === '1' ? 'core' : 'cores'}`;
}

/** `2Gi` when it is a whole unit, else GiB with one decimal (`23.5 GiB`). */
export function memoryText(bytes: number): string {
  const exact = formatMemory(bytes);
  if (/^\d+(Mi|Gi|Ti)$/.test(exact)) return exact;
  return bytes < GIB ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${(bytes / GIB).toFixed(1)} GiB`;
}
