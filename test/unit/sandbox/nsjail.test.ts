import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { stepLimits } from '../../../src/worker/sandbox/limits.js';
import {
  buildNsjailCommand,
  configOutsideUid,
  defaultNsjailLimits,
  NO_CGROUP_LIMITS,
  nsjailRunHint,
  nsjailValues,
  parseNsjailLog,
  protoString,
  readUserConfigs,
  renderNsjailConfig,
  renderNsjailConfigs,
  renderTemplate,
  USER_CONFIG_FILES,
  userConfigFlags,
} from '../../../src/worker/sandbox/nsjail.js';
import { REAPER_JAIL_PATH } from '../../../src/worker/sandbox/reaper.js';
import { kafelPolicy } from '../../../src/worker/sandbox/seccomp.js';
import type { Phase } from '../../../src/worker/sandbox/types.js';
import { expectGolden } from '../../helpers/files.js';

const fixtures = path.join(import.meta.dirname, '../../fixtures/nsjail');

// --- config.proto, as checked in: messages → fields (label, type); enums → values ----------------

interface FieldDef {
  label: 'optional' | 'required' | 'repeated';
  type: string;
}
const schemaText = readFileSync(path.join(fixtures, 'config.proto.fields'), 'utf8');
const enums = new Map<string, string[]>();
for (const m of schemaText.matchAll(/^enum (\w+) \{([^}]*)\}/gm)) {
  enums.set(m[1] as string, (m[2] as string).trim().split(/\s+/));
}
const messages = new Map<string, Map<string, FieldDef>>();
for (const m of schemaText.matchAll(/^message (\w+) \{([^}]*)\}/gm)) {
  const fields = new Map<string, FieldDef>();
  for (const f of (m[2] as string).matchAll(/(optional|required|repeated) (\w+) (\w+) = \d+;/g)) {
    fields.set(f[3] as string, { label: f[1] as FieldDef['label'], type: f[2] as string });
  }
  messages.set(m[1] as string, fields);
}

// --- protobuf text format: just enough of the grammar to hold the templates to the schema ---------

type Token = { kind: 'ident' | 'number' | 'string' | 'punct'; text: string; line: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s+|#[^\n]*|([A-Za-z_][\w.]*)|(-?\d+(?:\.\d+)?)|("(?:[^"\\\n]|\\.)*")|([{}:;,<>[\]])|(.)/gy;
  let line = 1;
  for (let m = re.exec(text); m !== null && m.index < text.length; m = re.exec(text)) {
    const [all, ident, number, string, punct, junk] = m;
    if (junk !== undefined) throw new Error(`line ${line}: unexpected character ${JSON.stringify(junk)}`);
    if (ident !== undefined) tokens.push({ kind: 'ident', text: ident, line });
    else if (number !== undefined) tokens.push({ kind: 'number', text: number, line });
    else if (string !== undefined) tokens.push({ kind: 'string', text: string, line });
    else if (punct !== undefined) tokens.push({ kind: 'punct', text: punct, line });
    line += all.split('\n').length - 1;
  }
  return tokens;
}

/** Parses `tokens` as a message of type `type`, throwing with the line for anything the schema refuses. */
function checkMessage(
  tokens: Token[],
  pos: number,
  type: string,
  closer?: string,
): { pos: number; seen: string[] } {
  const fields = messages.get(type);
  if (!fields) throw new Error(`unknown message ${type}`);
  const seen: string[] = [];
  for (;;) {
    const tok = tokens[pos];
    if (tok === undefined) {
      if (closer) throw new Error(`unterminated ${type}`);
      break;
    }
    if (closer && tok.kind === 'punct' && tok.text === closer) {
      pos++;
      break;
    }
    if (tok.kind !== 'ident') throw new Error(`line ${tok.line}: expected a field name, got ${tok.text}`);
    const def = fields.get(tok.text);
    if (!def) throw new Error(`line ${tok.line}: ${type} has no field "${tok.text}"`);
    if (def.label !== 'repeated' && seen.includes(tok.text)) {
      throw new Error(`line ${tok.line}: non-repeated field ${type}.${tok.text} set twice`);
    }
    seen.push(tok.text);
    pos++;
    let next = tokens[pos];
    if (messages.has(def.type)) {
      if (next?.text === ':') next = tokens[++pos];
      if (next?.text !== '{' && next?.text !== '<')
        throw new Error(`line ${tok.line}: ${tok.text} needs a { block }`);
      const inner = checkMessage(tokens, pos + 1, def.type, next.text === '{' ? '}' : '>');
      for (const [name, f] of messages.get(def.type) ?? []) {
        if (f.label === 'required' && !inner.seen.includes(name)) {
          throw new Error(`line ${tok.line}: ${def.type}.${name} is required`);
        }
      }
      pos = inner.pos;
    } else {
      if (next?.text !== ':') throw new Error(`line ${tok.line}: expected ':' after ${tok.text}`);
      const value = tokens[++pos];
      if (value === undefined) throw new Error(`line ${tok.line}: ${tok.text} has no value`);
      checkScalar(def.type, value, tok.text);
      pos++;
      if (def.type === 'string' || def.type === 'bytes') {
        while (tokens[pos]?.kind === 'string') pos++; // adjacent literals concatenate
      }
    }
    if (tokens[pos]?.text === ';' || tokens[pos]?.text === ',') pos++;
  }
  return { pos, seen };
}

function checkScalar(type: string, value: Token, field: string): void {
  const where = `line ${value.line}: ${field}`;
  if (type === 'bool') {
    if (value.kind !== 'ident' || !['true', 'false'].includes(value.text))
      throw new Error(`${where} must be true/false`);
  } else if (/^u?int(32|64)$/.test(type)) {
    if (value.kind !== 'number' || !/^-?\d+$/.test(value.text))
      throw new Error(`${where} must be an integer`);
    if (type.startsWith('u') && value.text.startsWith('-')) throw new Error(`${where} must not be negative`);
    const max = type.endsWith('32') ? 2n ** 32n : 2n ** 64n;
    if (BigInt(value.text) >= max) throw new Error(`${where} overflows ${type}`);
  } else if (type === 'string' || type === 'bytes') {
    if (value.kind !== 'string') throw new Error(`${where} must be a quoted string`);
  } else if (enums.has(type)) {
    if (value.kind !== 'ident' || !enums.get(type)?.includes(value.text)) {
      throw new Error(`${where} must be one of ${enums.get(type)?.join(', ')}`);
    }
  } else {
    throw new Error(`${where}: unknown type ${type}`);
  }
}

function checkConfig(text: string): string[] {
  return checkMessage(tokenize(text), 0, 'NsJailConfig').seen;
}

// --- tests ---------------------------------------------------------------------------------------

describe('the config.proto fixture', () => {
  test('holds the messages and enums the templates use', () => {
    expect([...messages.keys()]).toEqual(['IdMap', 'MountPt', 'Exe', 'NsJailConfig']);
    expect(messages.get('NsJailConfig')?.size).toBe(78);
    expect(messages.get('MountPt')?.size).toBe(15);
    expect(enums.get('Mode')).toEqual(['LISTEN', 'ONCE', 'RERUN', 'EXECVE']);
  });

  test('the checker refuses what nsjail would refuse', () => {
    expect(() => checkConfig('time_limt: 10')).toThrow('NsJailConfig has no field "time_limt"');
    expect(() => checkConfig('mode: SOMETIMES')).toThrow('mode must be one of LISTEN, ONCE, RERUN, EXECVE');
    expect(() => checkConfig('clone_newnet: yes')).toThrow('must be true/false');
    expect(() => checkConfig('time_limit: -1')).toThrow('must not be negative');
    expect(() => checkConfig('hostname: "a"\nhostname: "b"')).toThrow('set twice');
    expect(() => checkConfig('mount { src: "/usr" }')).toThrow('MountPt.dst is required');
    expect(() => checkConfig('mount { dst: "/x" size: 1 }')).toThrow('MountPt has no field "size"');
  });
});

describe('rendered configs', () => {
  const job = { timeLimitMs: 1500, memoryLimitKb: 131_072 };
  const cases: Array<[string, Phase, ReturnType<typeof stepLimits>]> = [
    ['python (guide)', 'python', stepLimits('python')],
    ['python (job)', 'python', stepLimits('python', job)],
    ['cpp-compile', 'cpp-compile', stepLimits('cpp-compile')],
    ['cpp-run (job)', 'cpp-run', stepLimits('cpp-run', job)],
  ];

  test.each(cases)('%s parses against config.proto', (_name, phase, limits) => {
    const fields = checkConfig(renderNsjailConfig(phase, limits));
    expect(new Set(fields)).toEqual(
      new Set([
        'name',
        'description',
        'mode',
        'hostname',
        'cwd',
        'time_limit',
        'max_cpus',
        'keep_env',
        'envar',
        'keep_caps',
        'skip_setsid',
        'disable_no_new_privs',
        'rlimit_as',
        'rlimit_cpu',
        'rlimit_fsize',
        'rlimit_nofile',
        'rlimit_core',
        'cgroup_mem_max',
        'cgroup_pids_max',
        'cgroup_cpu_ms_per_sec',
        'clone_newnet',
        'clone_newuser',
        'clone_newns',
        'clone_newpid',
        'clone_newipc',
        'clone_newuts',
        'clone_newcgroup',
        'iface_no_lo',
        'uidmap',
        'gidmap',
        'mount',
        'seccomp_string',
      ]),
    );
  });

  test('a job’s limits land in the right units', () => {
    const v = nsjailValues('cpp-run', stepLimits('cpp-run', job), { outsideId: '1900000002' });
    expect(v).toMatchObject({
      time_limit: '2', // seconds, rounded up from 1500 ms
      rlimit_as: '128', // MiB
      rlimit_cpu: '3', // seconds
      rlimit_fsize: '64', // MiB
      rlimit_nofile: '64',
      // bytes (memory + tmpfs), pids, ms of CPU per second
      cgroup_limits: `cgroup_mem_max: ${(131_072 + 65_536) * 1024}\ncgroup_pids_max: 64\ncgroup_cpu_ms_per_sec: 1000`,
      tmpfs_bytes: String(64 * 1024 * 1024),
      outside_id: '"1900000002"',
      out_rw: 'false',
    });
    expect(nsjailValues('cpp-compile', stepLimits('cpp-compile')).out_rw).toBe('true');
  });

  test.each(cases)(
    '%s for the worker: no nsjail cgroup (the slot or rlimits hold the limits), so no parent is needed',
    (_name, phase, limits) => {
      const text = renderNsjailConfig(phase, limits, { cgroupLimits: false });
      expect(text).not.toMatch(/^cgroup_/m);
      expect(text).toContain(`${NO_CGROUP_LIMITS}\n`);
      expect(text).toContain(`\nrlimit_as: ${Math.ceil(limits.memoryKb / 1024)}\n`);
      expect(checkConfig(text)).not.toContain('cgroup_mem_max');
    },
  );

  test('the seccomp policy is the Kafel rendering of the shared list, as one escaped string', () => {
    const text = renderNsjailConfig('python', stepLimits('python'));
    expect(text).toContain(`seccomp_string: ${protoString(kafelPolicy())}\n`);
  });

  test('generate writes python.cfg, cpp-compile.cfg and cpp.cfg equal to the golden files', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-nsjail-'));
    try {
      const written = renderNsjailConfigs(defaultNsjailLimits(), dir);
      expect(written.map((w) => path.basename(w.file))).toEqual(['python.cfg', 'cpp-compile.cfg', 'cpp.cfg']);
      for (const w of written) {
        const text = readFileSync(w.file, 'utf8');
        expectGolden(`nsjail/golden/${path.basename(w.file)}`, text);
        checkConfig(text);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('renderTemplate and protoString', () => {
  test('refuses a placeholder without a value and a value without a placeholder', () => {
    expect(() => renderTemplate('a: {{x}}', {})).toThrow('no value for {{x}}');
    expect(() => renderTemplate('a: 1', { x: '1' })).toThrow('values never used: x');
    expect(renderTemplate('a: {{x}} b: {{x}}', { x: '2' })).toBe('a: 2 b: 2');
  });

  test.each([
    ['plain', '"plain"'],
    ['a "quote"', '"a \\"quote\\""'],
    ['back\\slash', '"back\\\\slash"'],
    ['line\nbreak', '"line\\nbreak"'],
  ])('%j → %s', (input, literal) => {
    expect(protoString(input)).toBe(literal);
  });
});

describe('buildNsjailCommand', () => {
  const base = {
    nsjailPath: '/usr/bin/nsjail',
    configFile: '/w/slot-0/nsjail.cfg',
    argv: ['/usr/bin/python3', '/src/main.py'],
    logFd: 3,
    reaperPath: '/w/sentinel-init-abc',
  };
  const nsjail = [
    '/usr/bin/nsjail',
    '--config',
    '/w/slot-0/nsjail.cfg',
    '--log_fd',
    '3',
    '--bindmount_ro',
    `/w/sentinel-init-abc:${REAPER_JAIL_PATH}`,
    '--',
    REAPER_JAIL_PATH,
    '/usr/bin/python3',
    '/src/main.py',
  ];

  test('with slot cgroups (v1 or v2): a shell joins them, then nsjail runs the program under the init', () => {
    const cmd = buildNsjailCommand({
      ...base,
      cgroupProcs: [
        '/cg/memory/sentinel-sandbox/7/slot-0/cgroup.procs',
        '/cg/pids/sentinel-sandbox/7/slot-0/cgroup.procs',
      ],
    });
    expect(cmd.file).toBe('/bin/sh');
    expect(cmd.args.slice(2)).toEqual([
      'sentinel-sandbox',
      '/cg/memory/sentinel-sandbox/7/slot-0/cgroup.procs',
      '/cg/pids/sentinel-sandbox/7/slot-0/cgroup.procs',
      '--',
      ...nsjail,
    ]);
    expect(cmd.args.join(' ')).not.toMatch(/cgroup_|cgroupv2/);
  });

  test('no cgroups (rlimits only): nsjail alone, with no cgroup flag', () => {
    expect(buildNsjailCommand({ ...base, cgroupProcs: [] })).toEqual({
      file: '/usr/bin/nsjail',
      args: nsjail.slice(1),
    });
  });

  test('a user config: the job’s limits come after --config, so they win', () => {
    const limits = stepLimits('python', { timeLimitMs: 2500, memoryLimitKb: 65_536 });
    const args = buildNsjailCommand({ ...base, cgroupProcs: [], overrides: userConfigFlags(limits) }).args;
    expect(args.slice(0, 2)).toEqual(['--config', '/w/slot-0/nsjail.cfg']);
    expect(args.slice(2, 2 + 18)).toEqual([
      '--mode',
      'o',
      '--time_limit',
      '3',
      '--rlimit_as',
      '64',
      '--rlimit_cpu',
      '4',
      '--rlimit_fsize',
      '64',
      '--rlimit_nofile',
      '64',
      '--cgroup_mem_max',
      '0',
      '--cgroup_pids_max',
      '0',
      '--cgroup_cpu_ms_per_sec',
      '0',
    ]);
  });
});

describe('readUserConfigs (NSJAIL_CONFIG_DIR)', () => {
  const withDir = (fn: (dir: string) => void) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sentinel-nsjail-user-'));
    try {
      fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test('a missing or unrelated directory means the built-in templates', () => {
    expect(readUserConfigs('/nonexistent/nsjail-configs')).toBeUndefined();
    withDir((dir) => {
      writeFileSync(path.join(dir, 'README'), 'x');
      expect(readUserConfigs(dir)).toBeUndefined();
    });
  });

  test('the three files `generate nsjail` writes are taken as they are', () => {
    withDir((dir) => {
      renderNsjailConfigs(defaultNsjailLimits(), dir);
      const configs = readUserConfigs(dir);
      expect(Object.keys(configs ?? {})).toEqual(['python', 'cpp-compile', 'cpp-run']);
      expect(configs?.['cpp-run']).toBe(readFileSync(path.join(dir, 'cpp.cfg'), 'utf8'));
    });
  });

  test('some of the files only: refused, naming the missing ones', () => {
    withDir((dir) => {
      renderNsjailConfigs(defaultNsjailLimits(), dir);
      rmSync(path.join(dir, 'cpp-compile.cfg'));
      expect(() => readUserConfigs(dir)).toThrow(`holds python.cfg, cpp.cfg but not cpp-compile.cfg`);
    });
    expect(USER_CONFIG_FILES).toEqual(['python.cfg', 'cpp-compile.cfg', 'cpp.cfg']);
  });

  test('a config that does not mount the job’s /src is refused', () => {
    withDir((dir) => {
      renderNsjailConfigs(defaultNsjailLimits(), dir);
      writeFileSync(
        path.join(dir, 'python.cfg'),
        'mode: ONCE\nmount { src: "/usr" dst: "/usr" is_bind: true }\n',
      );
      expect(() => readUserConfigs(dir)).toThrow(
        "python.cfg does not mount the job's /src from $SENTINEL_JOB_DIR",
      );
    });
  });
});

describe('parseNsjailLog', () => {
  test.each([
    [
      'normal run',
      "[I][2024-01-01T00:00:00+0000] Executing '/usr/bin/python3' for '[STANDALONE MODE]'\n[I][2024-01-01T00:00:01+0000] pid=42 ([STANDALONE MODE]) exited with status: 0, (PIDs left: 0)\n",
      { started: true, timeLimit: false, errors: [], status: 0 },
    ],
    [
      'its own time limit',
      "[I][x] Executing '/out/main' for '[STANDALONE MODE]'\n[I][x] pid=42 run time >= time limit (2 >= 2) ([STANDALONE MODE]). Killing it\n[I][x] pid=42 ([STANDALONE MODE]) terminated with signal: SIGKILL (9), (PIDs left: 0)\n",
      { started: true, timeLimit: true, errors: [], status: 137 },
    ],
    [
      'a jail that could not be built',
      "[E][x][1] mountPt():270 mount('/usr', '/tmp/nsjail.1000.root/usr', type='', flags=MS_BIND): No such file or directory\n[F][x][1] runChild():487 Launching child process failed\n",
      {
        started: false,
        timeLimit: false,
        errors: [
          "[E][x][1] mountPt():270 mount('/usr', '/tmp/nsjail.1000.root/usr', type='', flags=MS_BIND): No such file or directory",
          '[F][x][1] runChild():487 Launching child process failed',
        ],
      },
    ],
    ['nothing at all', '', { started: false, timeLimit: false, errors: [] }],
  ])('%s', (_what, log, expected) => {
    expect(parseNsjailLog(log)).toEqual(expected);
  });
});

describe('configOutsideUid (whose /out a user config needs)', () => {
  test.each([
    ['a numeric outside_id', 'uidmap {\n  inside_id: "1000"\n  outside_id: "99999"\n  count: 1\n}\n', 99999],
    ['"" (nsjail\'s own uid)', 'uidmap {\n  inside_id: "1000"\n  outside_id: ""\n}\n', 0],
    ['no uidmap at all', 'mode: ONCE\n', 0],
    ['a user name (not resolved)', 'uidmap {\n  outside_id: "nobody"\n}\n', undefined],
  ])('%s', (_what, text, uid) => {
    expect(configOutsideUid(text, 0)).toBe(uid);
  });

  test('a generated config maps to --outside-id', () => {
    const text = renderNsjailConfig('cpp-compile', stepLimits('cpp-compile'), { outsideId: '4242' });
    expect(configOutsideUid(text, 0)).toBe(4242);
  });
});

describe('nsjailRunHint (what `generate nsjail` prints)', () => {
  const v1 = {
    version: 1 as const,
    mounts: {
      memory: '/sys/fs/cgroup/memory',
      pids: '/sys/fs/cgroup/pids',
      cpu: '/sys/fs/cgroup/cpu,cpuacct',
    },
  };

  test('cgroup v1 with limits: the NSJAIL parents to create, then the command', () => {
    expect(nsjailRunHint(v1, true)).toMatch(
      /^mkdir -p \/sys\/fs\/cgroup\/memory\/NSJAIL \/sys\/fs\/cgroup\/pids\/NSJAIL \/sys\/fs\/cgroup\/cpu,cpuacct\/NSJAIL && nsjail --config FILE -- COMMAND \(/,
    );
  });

  test('cgroup v2 with limits: the v2 flags', () => {
    expect(nsjailRunHint({ version: 2, mount: '/sys/fs/cgroup' }, true)).toMatch(
      /^nsjail --config FILE --use_cgroupv2 --cgroupv2_mount \/sys\/fs\/cgroup -- COMMAND/,
    );
  });

  test('without cgroup limits, on any host: the plain command, no parent', () => {
    for (const h of [v1, { version: 0 as const, reason: 'none mounted' }]) {
      expect(nsjailRunHint(h, false)).toMatch(/^nsjail --config FILE -- COMMAND \(no cgroup limits/);
    }
    expect(nsjailRunHint({ version: 0, reason: 'none mounted' }, true)).toContain('--no-cgroup-limits');
  });
});
