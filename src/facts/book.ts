/**
 * Facts from several sources, merged by precedence and listed for the output.
 *
 * Sources are added in precedence order (flags, manifests, live stack, container, host, profile,
 * defaults): the first value for a fact is the one used, later ones are kept in the list marked as
 * not used, so the output shows "max_connections 100 (manifest) — live says 300" instead of hiding
 * the disagreement.
 */
import type { Fact, FactOrigin, TuningFacts } from '../tuners/index.js';

export interface FactRow {
  /** Dotted name: `worker.poolSize`, `postgres.maxConnections`, `host.cpus`. */
  name: string;
  /** The value as people read it: `2 cores`, `512Mi`, `p50 120 ms, p99 900 ms`. */
  value: string;
  from: FactOrigin;
  detail: string;
  /** False when a source of higher precedence gave this fact too. */
  used: boolean;
}

export class FactBook {
  private readonly map = new Map<string, Fact<unknown>>();
  private readonly tree: Record<string, unknown> = {};
  readonly rows: FactRow[] = [];
  readonly notes: string[] = [];
  /** Notes about how the worker pod's CPU and memory were chosen (shown where pool sizing matters). */
  readonly capacityNotes: string[] = [];
  /**
   * What a `manifest` fact is recorded as: `k8s` while the cluster's live objects are read through
   * the manifest readers (`tune --k8s`), so their origin shows as the cluster, not a file.
   */
  manifestOrigin: FactOrigin = 'manifest';

  /**
   * Records a fact. The first one recorded under a name is used; a later one is only listed.
   * `show` formats the value for the output (default String).
   */
  put<T>(name: string, f: Fact<T> | undefined, show: (v: T) => string = String): void {
    if (!f) return;
    if (f.from === 'manifest' && this.manifestOrigin !== 'manifest') f = { ...f, from: this.manifestOrigin };
    const used = !this.map.has(name);
    this.rows.push({ name, value: show(f.value), from: f.from, detail: f.detail, used });
    if (!used) return;
    this.map.set(name, f as Fact<unknown>);
    const parts = name.split('.');
    let node = this.tree;
    for (const p of parts.slice(0, -1)) {
      if (node[p] === undefined) node[p] = {};
      node = node[p] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]!] = f;
  }

  /** Lists a fact without making it available to the tuners (context such as host totals). */
  show(name: string, value: string, from: FactOrigin, detail: string): void {
    if (from === 'manifest') from = this.manifestOrigin;
    this.rows.push({ name, value, from, detail, used: true });
  }

  get<T>(name: string): Fact<T> | undefined {
    return this.map.get(name) as Fact<T> | undefined;
  }

  value<T>(name: string): T | undefined {
    return this.get<T>(name)?.value;
  }

  has(name: string): boolean {
    return this.map.has(name);
  }

  /** Every used fact, nested as `TuningFacts` (plus extra keys the checks ignore). */
  get facts(): TuningFacts {
    return this.tree as TuningFacts;
  }
}
