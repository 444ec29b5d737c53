import { maskDeep, maskValue } from '../lib/redact.js';
import type { ConfigSource, LoadedConfig } from './load.js';
import type { SentinelConfig } from './schema.js';

export interface ConfigEntry {
  key: string;
  value: unknown;
  source: string;
}

export interface ConfigShowResult {
  file: string | null;
  profile: SentinelConfig['profile'];
  stateDir: string;
  portOffset: number;
  entries: ConfigEntry[];
  config: SentinelConfig;
}

export function describeOrigin(src: ConfigSource | undefined): string {
  if (!src) return 'default';
  switch (src.layer) {
    case 'default':
      return 'default';
    case 'profile':
      return `profile ${src.detail}`;
    case 'file':
      return `file ${src.detail}`;
    case 'env':
      return `env ${src.detail}`;
    case 'flag':
      return `flag ${src.detail}`;
    case 'state':
      return `state ${src.detail}`;
    case 'generated':
      return 'generated (saved by the first `up`)';
  }
}

function flatten(obj: unknown, prefix = ''): Array<[string, unknown]> {
  if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
    return Object.entries(obj).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
  }
  return [[prefix, obj]];
}

/** The effective config as rows of key, masked value and origin (ports include the offset). */
export function describeConfig(loaded: LoadedConfig): ConfigShowResult {
  const { config, sources, basePorts } = loaded;
  const entries = flatten(config).map(([key, value]) => {
    let source = describeOrigin(sources.get(key));
    if (key.startsWith('ports.') && config.portOffset > 0) {
      const base = basePorts[key.slice('ports.'.length) as keyof typeof basePorts];
      source = `${source} (${base} + offset ${config.portOffset})`;
    }
    return { key, value: maskValue(key, value), source };
  });
  return {
    file: loaded.file ?? null,
    profile: config.profile,
    stateDir: config.stateDir,
    portOffset: config.portOffset,
    entries,
    config: maskDeep(config),
  };
}
