import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { z } from 'zod';
import { UserError } from '../lib/errors.js';
import { readInputFile, writeFileAtomic } from '../lib/fs.js';
import { defaults, profileDefaults } from './defaults.js';
import { coerceEnv, envBindings } from './env.js';
import { configSchema, type Ports, type Profile, profiles, type SentinelConfig } from './schema.js';

export const DEFAULT_CONFIG_FILE = 'sentinel.config.yaml';

/** Where one effective value came from, for `config show` and for error messages. */
export interface ConfigSource {
  layer: 'default' | 'profile' | 'file' | 'env' | 'flag' | 'state' | 'generated';
  /** The file, variable or flag name. */
  detail?: string;
}

export interface FlagOverride {
  path: string;
  value: unknown;
  flag: string;
}

export interface LoadConfigOptions {
  /** An explicit `--config`; must exist. */
  configFile?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  flags?: FlagOverride[];
  /** Write generated passwords to `<stateDir>/credentials.json` (done by commands that create state). */
  persistCredentials?: boolean;
}

export interface LoadedConfig {
  config: SentinelConfig;
  /** Leaf path (`ports.redis`) → where its value came from. */
  sources: Map<string, ConfigSource>;
  /** Ports before `portOffset` was added. */
  basePorts: Ports;
  file?: string;
  /** Absolute path of the config file, for child processes that must load the same one. */
  filePath?: string;
  credentialsFile: string;
}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

function leaves(obj: Plain, prefix = ''): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const [k, v] of Object.entries(obj)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (isPlain(v)) out.push(...leaves(v, p));
    else if (v !== undefined) out.push([p, v]);
  }
  return out;
}

function setPath(obj: Plain, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let cur = obj;
  for (const key of keys.slice(0, -1)) {
    if (!isPlain(cur[key])) cur[key] = {};
    cur = cur[key] as Plain;
  }
  cur[keys[keys.length - 1]!] = value;
}

function getPath(obj: Plain, dotted: string): unknown {
  let cur: unknown = obj;
  for (const key of dotted.split('.')) {
    if (!isPlain(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

function overlay(
  target: Plain,
  layer: Plain,
  source: ConfigSource,
  sources: Map<string, ConfigSource>,
): void {
  for (const [p, v] of leaves(layer)) {
    setPath(target, p, v);
    sources.set(p, source);
  }
}

interface ParsedFile {
  file: string;
  data: Plain;
  lineOf: (keyPath: Array<string | number>) => number | undefined;
}

/** `yaml` (≈90 ms to load) only when there is a config file to read. */
const loadYaml = () => createRequire(import.meta.url)('yaml') as typeof import('yaml');

function readConfigFile(file: string): ParsedFile {
  const { isMap, LineCounter, parseDocument } = loadYaml();
  const text = readInputFile(file, 'a sentinel-ctl config file (YAML)', {
    code: 'CONFIG_INVALID',
    suggestion: 'Pass a YAML config file, or drop --config to use sentinel.config.yaml or the defaults.',
    allowEmpty: true,
  });
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const rel = path.relative(process.cwd(), file) || file;
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const pos = lineCounter.linePos(err.pos[0]);
    throw new UserError(`${rel}:${pos.line}:${pos.col}: invalid YAML: ${err.message.split('\n')[0]}`, {
      code: 'CONFIG_INVALID',
      suggestion: `Fix the file, or move it away to use the defaults.`,
    });
  }
  const data = doc.toJS() as unknown;
  if (data !== null && data !== undefined && !isPlain(data)) {
    throw new UserError(`${rel}: expected a mapping of settings at the top level, found ${typeof data}`, {
      code: 'CONFIG_INVALID',
    });
  }
  const lineOf = (keyPath: Array<string | number>) => {
    // Walk down as far as the document goes; point at the deepest node that exists.
    for (let n = keyPath.length; n > 0; n--) {
      const node = doc.getIn(keyPath.slice(0, n), true) as { range?: [number, number] } | undefined;
      const parent = n > 1 ? doc.getIn(keyPath.slice(0, n - 1), true) : doc.contents;
      if (node?.range) return lineCounter.linePos(node.range[0]).line;
      if (isMap(parent)) {
        const pair = parent.items.find((it) => (it.key as { value?: unknown })?.value === keyPath[n - 1]);
        const range = (pair?.key as { range?: [number, number] } | undefined)?.range;
        if (range) return lineCounter.linePos(range[0]).line;
      }
    }
    return undefined;
  };
  return { file: rel, data: (data as Plain | null) ?? {}, lineOf };
}

function resolveConfigFile(opts: LoadConfigOptions, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const explicit = opts.configFile ?? env.SENTINEL_CONFIG;
  if (explicit) {
    const abs = path.resolve(cwd, explicit);
    if (!existsSync(abs)) {
      throw new UserError(`Config file ${explicit} does not exist.`, {
        code: 'CONFIG_MISSING',
        suggestion: `Create it, or drop --config to use ${DEFAULT_CONFIG_FILE} or the defaults.`,
      });
    }
    return abs;
  }
  const implicit = path.join(cwd, DEFAULT_CONFIG_FILE);
  return existsSync(implicit) ? implicit : undefined;
}

function describeSource(src: ConfigSource | undefined): string {
  if (!src) return 'config';
  switch (src.layer) {
    case 'file':
      return src.detail ?? 'config file';
    case 'env':
      return `environment variable ${src.detail}`;
    case 'flag':
      return `flag ${src.detail}`;
    default:
      return src.layer;
  }
}

function formatIssue(
  issue: z.core.$ZodIssue,
  sources: Map<string, ConfigSource>,
  parsed: ParsedFile | undefined,
): string {
  const keyPath = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => [...keyPath, k].join('.'));
    const line = parsed?.lineOf([...issue.path, issue.keys[0]!] as Array<string | number>);
    const where = parsed ? `${parsed.file}${line ? `:${line}` : ''}` : 'config';
    return `${where}: ${keys.join(', ')}: unknown setting${keys.length > 1 ? 's' : ''}`;
  }
  const dotted = keyPath.join('.');
  const src = sources.get(dotted) ?? [...sources].find(([k]) => k.startsWith(`${dotted}.`))?.[1];
  let where = describeSource(src);
  if (src?.layer === 'file' && parsed) {
    const line = parsed.lineOf(issue.path as Array<string | number>);
    if (line) where = `${parsed.file}:${line}`;
  }
  return `${where}: ${dotted || '(top level)'}: ${issue.message}`;
}

interface Credentials {
  postgres?: string;
  rabbitmq?: string;
  redis?: string;
}

function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * Builds the effective config: defaults < profile < file < environment < flags, then credentials
 * from the state directory (generated once per state dir when nothing gives them), then the port
 * offset. Throws a UserError (exit 2) naming the file or variable, the key path and the reason.
 */
export function loadConfig(opts: LoadConfigOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const sources = new Map<string, ConfigSource>();
  const merged = structuredClone(defaults) as unknown as Plain;
  for (const [p] of leaves(merged)) sources.set(p, { layer: 'default' });

  const file = resolveConfigFile(opts, env, cwd);
  const parsed = file ? readConfigFile(file) : undefined;

  const envLayer: Plain = {};
  const envSources = new Map<string, ConfigSource>();
  for (const binding of envBindings) {
    const name = binding.names.find((n) => env[n] !== undefined && env[n] !== '');
    if (!name) continue;
    const value = coerceEnv(binding.kind, env[name]!);
    if (value === undefined) {
      throw new UserError(
        `environment variable ${name}: ${binding.path}: cannot read "${env[name]}" as ${binding.kind}`,
        {
          code: 'CONFIG_INVALID',
        },
      );
    }
    setPath(envLayer, binding.path, value);
    envSources.set(binding.path, { layer: 'env', detail: name });
  }
  const flagLayer: Plain = {};
  const flagSources = new Map<string, ConfigSource>();
  for (const f of opts.flags ?? []) {
    if (f.value === undefined) continue;
    setPath(flagLayer, f.path, f.value);
    flagSources.set(f.path, { layer: 'flag', detail: f.flag });
  }

  // The profile selects a layer of its own, so it is resolved first with the same precedence.
  const profile = (getPath(flagLayer, 'profile') ??
    getPath(envLayer, 'profile') ??
    parsed?.data.profile ??
    'dev') as Profile;
  if (!profiles.includes(profile)) {
    const src = flagSources.get('profile') ??
      envSources.get('profile') ?? { layer: 'file', detail: parsed?.file };
    throw new UserError(
      `${describeSource(src)}: profile: expected one of ${profiles.join(', ')}, got "${String(profile)}"`,
      {
        code: 'CONFIG_INVALID',
      },
    );
  }
  overlay(merged, profileDefaults[profile] as Plain, { layer: 'profile', detail: profile }, sources);
  if (parsed) overlay(merged, parsed.data, { layer: 'file', detail: parsed.file }, sources);
  for (const [p, v] of leaves(envLayer)) {
    setPath(merged, p, v);
    sources.set(p, envSources.get(p)!);
  }
  for (const [p, v] of leaves(flagLayer)) {
    setPath(merged, p, v);
    sources.set(p, flagSources.get(p)!);
  }

  // Credentials: state dir file, else generated. Validation of the rest comes first so a bad
  // stateDir is reported as such.
  const stateDir = path.resolve(cwd, String(getPath(merged, 'stateDir')));
  setPath(merged, 'stateDir', stateDir);
  const credentialsFile = path.join(stateDir, 'credentials.json');
  let stored: Credentials = {};
  if (existsSync(credentialsFile)) {
    try {
      stored = JSON.parse(readFileSync(credentialsFile, 'utf8')) as Credentials;
    } catch {
      throw new UserError(`${credentialsFile}: not valid JSON`, {
        code: 'CONFIG_INVALID',
        suggestion: 'Delete the file to generate new passwords (the stack must then be re-initialised).',
      });
    }
  }
  let generated = false;
  for (const svc of ['postgres', 'rabbitmq', 'redis'] as const) {
    const p = `credentials.${svc}.password`;
    if (getPath(merged, p) !== undefined) continue;
    if (stored[svc]) {
      setPath(merged, p, stored[svc]);
      sources.set(p, { layer: 'state', detail: credentialsFile });
    } else {
      stored[svc] = generatePassword();
      generated = true;
      setPath(merged, p, stored[svc]);
      sources.set(p, { layer: 'generated', detail: credentialsFile });
    }
  }

  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const lines = result.error.issues.slice(0, 5).map((i) => formatIssue(i, sources, parsed));
    throw new UserError(lines.join('\n'), {
      code: 'CONFIG_INVALID',
      suggestion: parsed
        ? `Fix ${parsed.file}; \`sentinel-ctl config show\` prints the effective values.`
        : undefined,
    });
  }
  const config = result.data;
  const basePorts = { ...config.ports };
  for (const key of Object.keys(config.ports) as Array<keyof Ports>) {
    const shifted = config.ports[key] + config.portOffset;
    if (shifted > 65535) {
      throw new UserError(
        `ports.${key}: ${config.ports[key]} + port offset ${config.portOffset} = ${shifted} is above 65535`,
        { code: 'CONFIG_INVALID', suggestion: 'Use a smaller --port-offset.' },
      );
    }
    config.ports[key] = shifted;
  }
  if (generated && opts.persistCredentials) {
    mkdirSync(stateDir, { recursive: true, mode: 0o755 });
    writeFileAtomic(credentialsFile, `${JSON.stringify(stored, null, 2)}\n`, 0o600);
    for (const svc of ['postgres', 'rabbitmq', 'redis'] as const) {
      const p = `credentials.${svc}.password`;
      if (sources.get(p)?.layer === 'generated') sources.set(p, { layer: 'state', detail: credentialsFile });
    }
  }
  return { config, sources, basePorts, file: parsed?.file, filePath: file, credentialsFile };
}
