// biome-ignore-all lint/suspicious/noTemplateCurlyInString: scenario templates are written ${var}, not JS templates
import { describe, expect, test } from 'vitest';
import {
  compileTemplate,
  readJsonPath,
  renderTemplate,
  scenarioNames,
  weightedPicker,
} from '../../../src/bench/scenario.js';
import { parseScenario } from '../../../src/bench/scenario-file.js';
import { UserError } from '../../../src/lib/errors.js';

const good = `name: shop
baseUrl: http://127.0.0.1:9000
setup:
  name: login
  method: post
  path: /login
  json: { user: bench }
  capture:
    token: $.data.token
headers:
  Authorization: Bearer \${token}
requests:
  - name: list
    path: /items?page=\${iter}
    weight: 3
  - name: add
    method: POST
    path: /items
    json: { id: "\${uuid}", by: "vu \${vu}" }
    expect: [200, 201]
thinkTime: { min: 500ms, max: 2s }
load:
  stages: 10s:5,20s:5
thresholds:
  http_req_duration{name:list}: ['p(95)<100', { threshold: 'p(99)<200', abortOnFail: true, delayAbortEval: 5s }]
`;

describe('scenario files', () => {
  test('a valid file resolves to a plain spec with defaults applied', () => {
    const s = parseScenario(good, 'shop.yaml');
    expect(s.spec).toMatchObject({
      kind: 'http',
      name: 'shop',
      baseUrl: 'http://127.0.0.1:9000',
      setup: { name: 'login', method: 'POST', capture: { token: '$.data.token' }, expect: [] },
      thinkTime: { minMs: 500, maxMs: 2000 },
    });
    expect(
      s.spec.kind === 'http' && s.spec.requests.map((r) => [r.name, r.method, r.weight, r.expect]),
    ).toEqual([
      ['list', 'GET', 3, []],
      ['add', 'POST', 1, [200, 201]],
    ]);
    expect(s.spec.kind === 'http' && s.spec.requests[0]!.headers).toEqual({
      Authorization: 'Bearer ${token}',
    });
    expect(s.load).toEqual({ stages: '10s:5,20s:5' });
    expect(s.thresholds).toEqual([
      {
        key: 'http_req_duration{name:list}',
        expression: 'p(95)<100',
        source: 'shop.yaml:25 thresholds.http_req_duration{name:list}[0]',
      },
      {
        key: 'http_req_duration{name:list}',
        expression: 'p(99)<200',
        abortOnFail: true,
        delayAbortEval: '5s',
        source: 'shop.yaml:25 thresholds.http_req_duration{name:list}[1]',
      },
    ]);
    expect(scenarioNames(s.spec)).toEqual(['login', 'list', 'add']);
  });

  test.each([
    ['requests: []', 'f.yaml:1: requests: Too small: expected array to have >=1 items'],
    ['baseUrl: ftp://x\nrequests: [{name: a, path: /}]', 'f.yaml:1: baseUrl: Invalid URL'],
    ['requests:\n  - name: a\n    path: nope', 'f.yaml:3: requests.0.path: a path starts with /'],
    ['requests:\n  - name: a\n    path: /\n    weight: 0', 'f.yaml:4: requests.0.weight: Too small'],
    ['requests:\n  - name: a\n    path: /\n    method: FETCH', 'f.yaml:4: requests.0.method: Invalid option'],
    ['requests:\n  - name: a\n    path: /\n    expect: 700', 'f.yaml:4: requests.0.expect'],
    [
      'requests:\n  - name: a\n    path: /\n    wieght: 2',
      'f.yaml:2: requests.0: Unrecognized key: "wieght"',
    ],
    [
      'requests: [{name: a, path: /}]\nthinkTime: {min: 2s, max: 1s}',
      'f.yaml:2: thinkTime: min must not exceed max',
    ],
    [
      'requests: [{name: a, path: /}]\nthinkTime: {min: soon, max: 1s}',
      'f.yaml:2: thinkTime.min: expected a duration',
    ],
    ['requests: [{name: a, path: /}]\nload: {vus: -1}', 'f.yaml:2: load.vus: Too small'],
    ['requests: [{name: a, path: /, capture: {t: token}}]', 'expected a JSON path such as $.access_token'],
    ['requests: [{name: a, path: /}, {name: a, path: /b}]', 'requests.1.name: "a" is used twice'],
    ['requests: [{name: a, path: "/x/${tokn}"}]', 'requests.0: uses ${tokn}, which no capture defines'],
    ['requests: [{name: a, path: /}]\nkind: grpc', 'kind: Invalid input: expected "http"'],
    [
      'kind: sentinel\nsentinel: {payloads: [{name: p, language: ruby, source: x, expectedStdout: ""}]}',
      'f.yaml:2: sentinel.payloads.0.language',
    ],
    ['requests: [{name: a, path: /]', 'f.yaml:1: not valid YAML'],
    ['requests: [{name: a, path: /}]', 'f.yaml: baseUrl: missing, and no --base-url was given'],
  ])('%s', (text, message) => {
    const withBase =
      text.includes('baseUrl') || message.includes('baseUrl: missing') ? text : `${text}\nbaseUrl: http://h`;
    let error: unknown;
    try {
      parseScenario(withBase, 'f.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(2);
    expect((error as UserError).message).toContain(message);
  });

  test('--base-url replaces the file value', () => {
    expect(parseScenario(good, 'shop.yaml', 'http://127.0.0.1:1').spec.baseUrl).toBe('http://127.0.0.1:1');
  });

  test('a sentinel file gets the contract defaults', () => {
    const s = parseScenario('kind: sentinel\nbaseUrl: http://127.0.0.1:8080\n', 'e2e.yaml');
    expect(s.spec).toMatchObject({
      kind: 'sentinel',
      name: 'e2e',
      pollIntervalMs: 1000,
      pollTimeoutMs: 30_000,
    });
    expect(scenarioNames(s.spec)).toEqual([
      'submit',
      'poll',
      'python-print',
      'python-stdin-sum',
      'cpp-hello',
      'cpp-loop',
    ]);
  });
});

describe('templates, JSON paths, weights', () => {
  test.each([
    ['plain', {}, 'plain'],
    ['Bearer ${token}', { token: 'abc' }, 'Bearer abc'],
    ['${a}-${ b }-${a}', { a: '1', b: '2' }, '1-2-1'],
    ['x${missing}y', {}, 'xy'],
  ])('%s', (text, vars, want) => {
    expect(renderTemplate(compileTemplate(text), vars)).toBe(want);
  });

  test('JSON bodies escape variable values', () => {
    const t = compileTemplate(JSON.stringify({ q: '${v}' }));
    expect(JSON.parse(renderTemplate(t, { v: 'say "hi"\n' }, (s) => JSON.stringify(s).slice(1, -1)))).toEqual(
      {
        q: 'say "hi"\n',
      },
    );
  });

  test.each([
    ['$.access_token', 'tok'],
    ['$.data.items[1].id', 7],
    ['$.data.items[5].id', undefined],
    ['$.nope.deeper', undefined],
  ])('%s', (path, want) => {
    expect(readJsonPath({ access_token: 'tok', data: { items: [{ id: 6 }, { id: 7 }] } }, path)).toBe(want);
  });

  test('weighted picks follow the weights (Jackdaw mix)', () => {
    const weights = [54, 18, 9, 9, 5, 3, 2];
    const pick = weightedPicker(weights);
    const counts = new Array(weights.length).fill(0);
    const n = 200_000;
    for (let i = 0; i < n; i++) counts[pick()] += 1;
    for (const [i, c] of counts.entries()) expect(Math.abs(c / n - weights[i]! / 100)).toBeLessThan(0.006);
  });
});
