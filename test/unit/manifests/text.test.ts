import { describe, expect, test } from 'vitest';
import { parseEnvFile } from '../../../src/manifests/env-file.js';
import {
  findArgSetting,
  maskEnvText,
  maskPasswords,
  maskYamlText,
  parseQuantity,
  quantityEquals,
  readConfSetting,
  readParams,
  setConfSetting,
  setParams,
} from '../../../src/manifests/index.js';
import { plainSafe } from '../../../src/manifests/yaml-edit.js';

describe('setParams: only the parameter bytes change', () => {
  test.each<[string, Record<string, number>, string]>([
    [
      'postgres://app:p%40ss%2Fw0rd@db:5432/app?sslmode=disable&pool_max_conns=4&application_name=api%20x',
      { pool_max_conns: 20, pool_min_conns: 5 },
      'postgres://app:p%40ss%2Fw0rd@db:5432/app?sslmode=disable&pool_max_conns=20&application_name=api%20x&pool_min_conns=5',
    ],
    ['postgres://app:pw@db/app', { pool_max_conns: 20 }, 'postgres://app:pw@db/app?pool_max_conns=20'],
    ['postgres://app:pw@db/app?', { pool_max_conns: 20 }, 'postgres://app:pw@db/app?pool_max_conns=20'],
    [
      'postgres://app:pw@db/app?a=1&',
      { pool_max_conns: 20 },
      'postgres://app:pw@db/app?a=1&pool_max_conns=20',
    ],
    ['postgres://db/app#frag', { pool_max_conns: 20 }, 'postgres://db/app?pool_max_conns=20#frag'],
    ['postgres://db/app?pool_max_conns', { pool_max_conns: 20 }, 'postgres://db/app?pool_max_conns=20'],
    ['postgres://db/app?pool_max_conns=20', { pool_max_conns: 20 }, 'postgres://db/app?pool_max_conns=20'],
    // percent-encoded key is recognised; its spelling is kept
    ['postgres://db/app?pool%5Fmax_conns=4', { pool_max_conns: 8 }, 'postgres://db/app?pool%5Fmax_conns=8'],
    // key/value form (libpq / pgx DSN)
    [
      "host=db user=app password='a b' pool_max_conns=4",
      { pool_max_conns: 20, pool_min_conns: 2 },
      "host=db user=app password='a b' pool_max_conns=20 pool_min_conns=2",
    ],
    ["host=db pool_max_conns='4'", { pool_max_conns: 9 }, "host=db pool_max_conns='9'"],
  ])('%s', (input, params, expected) => {
    expect(setParams(input, params)).toBe(expected);
  });

  test('a parameter given twice is refused', () => {
    expect(() =>
      setParams('postgres://db/app?pool_max_conns=1&pool_max_conns=2', { pool_max_conns: 3 }),
    ).toThrow('the connection string sets pool_max_conns more than once');
  });

  test('readParams decodes values', () => {
    expect(
      readParams('postgres://db/app?pool_max_conns=4&application_name=a%20b', [
        'pool_max_conns',
        'application_name',
        'x',
      ]),
    ).toEqual({
      pool_max_conns: '4',
      application_name: 'a b',
    });
    expect(readParams('host=db pool_min_conns=2', ['pool_min_conns'])).toEqual({ pool_min_conns: '2' });
  });
});

describe('maskPasswords keeps every other byte', () => {
  test.each<[string, string]>([
    ['postgres://app:s3cr%40t@db:5432/app?x=1', 'postgres://app:****@db:5432/app?x=1'],
    ['redis://:r3dis@redis:6379/0', 'redis://:****@redis:6379/0'],
    ['amqp://guest@rabbit:5672/', 'amqp://guest@rabbit:5672/'],
    [
      'postgres://db/app?user=a&password=hunter2&pool_max_conns=4',
      'postgres://db/app?user=a&password=****&pool_max_conns=4',
    ],
    ["host=db password='a b' user=x", 'host=db password=**** user=x'],
    ['# old: mysql://root:toor@127.0.0.1/x', '# old: mysql://root:****@127.0.0.1/x'],
  ])('%s', (input, expected) => {
    expect(maskPasswords(input)).toBe(expected);
  });
});

describe('postgresql.conf and args', () => {
  test.each<[string, number, string]>([
    ['a = 1\nmax_connections = 100   # note\nb = 2\n', 300, 'a = 1\nmax_connections = 300   # note\nb = 2\n'],
    ["max_connections='100'\n", 300, "max_connections='300'\n"],
    ['max_connections 100\n', 300, 'max_connections 300\n'],
    [
      'a = 1\n#max_connections = 100\nb = 2\n',
      300,
      'a = 1\n#max_connections = 100\nmax_connections = 300\nb = 2\n',
    ],
    ['a = 1\n', 300, 'a = 1\nmax_connections = 300\n'],
    ['a = 1', 300, 'a = 1\nmax_connections = 300'],
    ['', 300, 'max_connections = 300\n'],
    ['max_connections_extra = 5\n', 300, 'max_connections_extra = 5\nmax_connections = 300\n'],
  ])('setConfSetting(%j, %i)', (text, value, expected) => {
    expect(setConfSetting(text, 'max_connections', value)).toBe(expected);
    expect(readConfSetting(expected, 'max_connections').map((h) => h.value)).toEqual([String(value)]);
  });

  test('a setting given twice is refused', () => {
    expect(() => setConfSetting('max_connections = 1\nmax_connections = 2\n', 'max_connections', 3)).toThrow(
      'max_connections is set 2 times',
    );
  });

  test.each<[string[], Array<[number, string]>]>([
    [['-c', 'max_connections=100', '-c', 'shared_buffers=1GB'], [[1, '100']]],
    [['-c', "max_connections='100'"], [[1, '100']]],
    [['postgres', '-cmax_connections=100'], [[1, '100']]],
    [['postgres', '--max_connections=100'], [[1, '100']]],
    [['postgres', '--max-connections=100'], [[1, '100']]],
    [['sh', '-c', 'exec postgres -c max_connections=100 -c work_mem=4MB'], [[2, '100']]],
    [['-c', 'shared_buffers=1GB'], []],
    [['max_connections=100'], []], // not preceded by -c: not a server option
  ])('findArgSetting(%j)', (args, expected) => {
    const hits = findArgSetting(args, 'max_connections');
    expect(hits.map((h) => [h.item, h.value])).toEqual(expected);
    for (const h of hits) expect(args[h.item]!.slice(h.start, h.end)).toBe(h.value);
  });
});

describe('quantities', () => {
  test.each<[unknown, number | undefined]>([
    ['500m', 0.5],
    ['2', 2],
    [2, 2],
    ['1.5', 1.5],
    ['512Mi', 512 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['1e3', 1000],
    ['100k', 1e5],
    ['abc', undefined],
    ['1 Gi', undefined],
    [undefined, undefined],
  ])('parseQuantity(%j) = %j', (raw, value) => {
    expect(parseQuantity(raw)).toBe(value);
  });

  test.each<[unknown, unknown, boolean]>([
    ['500m', 0.5, true],
    ['1', 1, true],
    ['1Gi', '1024Mi', true],
    ['1G', '1Gi', false],
    ['250m', '500m', false],
    [undefined, '1', false],
  ])('quantityEquals(%j, %j) = %j', (a, b, eq) => {
    expect(quantityEquals(a, b)).toBe(eq);
  });
});

describe('plain scalars are only kept plain when YAML 1.1 and 1.2 read the same string', () => {
  test.each<[string, boolean]>([
    ['plain-value', true],
    ['postgres://u@db/app?a=1&b=2', true],
    ['42', false],
    ['on', false], // YAML 1.1 boolean
    ['yes', false],
    ['0755', false], // YAML 1.1 octal
    ['1_000', false],
    ['a: b', false],
    ['a #b', false],
    ['-c', true],
    ['', false],
    [' padded', false],
    ['null', false],
  ])('%j → %j', (value, safe) => {
    expect(plainSafe(value, false)).toBe(safe);
  });

  test('flow context also rejects flow indicators', () => {
    expect(plainSafe('a,b', false)).toBe(true);
    expect(plainSafe('a,b', true)).toBe(false);
  });
});

describe('.env files', () => {
  test('entries with quotes, export, comments and offsets', () => {
    const src = [
      '# comment',
      'export A=1',
      'B="two words" # trailing',
      "C='single'",
      'D=plain # comment',
      'E=',
      'F',
      'G="multi',
      'line"',
      'H=last',
    ].join('\n');
    const { entries, problems } = parseEnvFile('x.env', src);
    expect(problems).toEqual([]);
    expect(entries.map((e) => [e.key, e.value, e.quote, e.line, e.multiline])).toEqual([
      ['A', '1', '', 2, false],
      ['B', 'two words', '"', 3, false],
      ['C', 'single', "'", 4, false],
      ['D', 'plain', '', 5, false],
      ['E', '', '', 6, false],
      ['F', undefined, '', 7, false],
      ['G', 'multi\nline', '"', 8, true],
      ['H', 'last', '', 10, false],
    ]);
    for (const e of entries.filter((x) => x.value !== undefined && !x.multiline)) {
      expect(src.slice(e.valueStart, e.valueEnd)).toBe(e.value);
    }
  });

  test('masking: secret keys and URL passwords, other bytes kept', () => {
    const src = 'DATABASE_URL="postgres://a:pw@db/x"\nAPI_TOKEN=abc123 # rotate\nMODE=fast\n';
    expect(maskEnvText(src, false)).toBe(
      'DATABASE_URL="postgres://a:****@db/x"\nAPI_TOKEN=**** # rotate\nMODE=fast\n',
    );
    expect(maskEnvText(src, true)).toBe(
      'DATABASE_URL="postgres://a:****@db/x"\nAPI_TOKEN=**** # rotate\nMODE=****\n',
    );
  });
});

describe('maskYamlText', () => {
  test('Secret values, secret-looking keys and env entries masked; line count kept', () => {
    const src = [
      'apiVersion: v1',
      'kind: Secret',
      'stringData:',
      '  url: postgres://a:pw@db/x?pool_max_conns=4',
      '  cert: |',
      '    -----BEGIN-----',
      '    abc',
      'data:',
      '  token: c2VjcmV0',
      '---',
      'kind: ConfigMap',
      'data:',
      '  admin_password: hunter2',
      '  mode: fast',
      '---',
      'kind: Deployment',
      'env:',
      '  - name: DB_PASSWORD',
      '    value: "hunter3"',
      '',
    ].join('\n');
    const masked = maskYamlText(src);
    expect(masked).toBe(
      [
        'apiVersion: v1',
        'kind: Secret',
        'stringData:',
        '  url: postgres://a:****@db/x?pool_max_conns=4',
        '  cert: |',
        '    ****',
        '    ****',
        'data:',
        '  token: ****',
        '---',
        'kind: ConfigMap',
        'data:',
        '  admin_password: ****',
        '  mode: fast',
        '---',
        'kind: Deployment',
        'env:',
        '  - name: DB_PASSWORD',
        '    value: ****',
        '',
      ].join('\n'),
    );
  });
});
