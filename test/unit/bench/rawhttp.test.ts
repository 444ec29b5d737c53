import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RawHttpClient } from '../../../src/bench/rawhttp.js';

let server: http.Server;
let origin: string;
let sockets = 0;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/chunked') {
      res.write('hello ');
      setTimeout(() => {
        res.write('chunked ');
        res.end('world');
      }, 5);
    } else if (req.url === '/close') {
      res.writeHead(200, { connection: 'close', 'content-length': '2' });
      res.end('ok');
    } else if (req.url === '/slow') setTimeout(() => res.end('late'), 300);
    else if (req.url === '/empty') {
      res.writeHead(204);
      res.end();
    } else if (req.method === 'POST') {
      let n = 0;
      req.on('data', (c) => (n += c.length));
      req.on('end', () => res.end(`got ${n}`));
    } else {
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-length': '11' });
      res.end(req.method === 'HEAD' ? undefined : 'hello world');
    }
  });
  server.on('connection', () => (sockets += 1));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const client = (over: Partial<ConstructorParameters<typeof RawHttpClient>[1]> = {}) =>
  new RawHttpClient(origin, { connections: 1, perVuConnections: true, timeoutMs: 5000, ...over });

describe('lean HTTP/1.1 client', () => {
  test('content-length and chunked bodies, statuses, HEAD and 204, on one kept-alive connection', async () => {
    const c = client();
    const before = sockets;
    const get = (path: string, method = 'GET') => c.send(origin, method, path, undefined, undefined, true);
    const a = await get('/');
    expect([a.status, a.bytes, a.body?.toString()]).toEqual([200, 11, 'hello world']);
    const b = await get('/chunked');
    expect([b.status, b.bytes, b.body?.toString()]).toEqual([200, 19, 'hello chunked world']);
    expect((await get('/missing')).status).toBe(404);
    expect((await get('/', 'HEAD')).bytes).toBe(0);
    expect((await get('/empty')).status).toBe(204);
    const p = await c.send(origin, 'POST', '/', { 'content-type': 'text/plain' }, 'x'.repeat(1000), true);
    expect(p.body?.toString()).toBe('got 1000');
    expect(sockets - before).toBe(1);
    await c.close();
  });

  test('connection: close is honoured, the next request opens a new connection', async () => {
    const c = client();
    const before = sockets;
    expect((await c.send(origin, 'GET', '/close', undefined, undefined, true)).body?.toString()).toBe('ok');
    expect((await c.send(origin, 'GET', '/', undefined, undefined, false)).status).toBe(200);
    expect(sockets - before).toBe(2);
    await c.close();
  });

  test('a timeout fires at its value (below one second) and is a timeout; the connection recovers', async () => {
    const c = client({ timeoutMs: 100 });
    const r = await c.send(origin, 'GET', '/slow', undefined, undefined, false);
    expect(r.cause).toBe('timeout');
    expect((await c.send(origin, 'GET', '/', undefined, undefined, false)).status).toBe(200);
    await c.close();
  });

  test('one timer for all requests: a request queued for a busy connection times out too', async () => {
    const c = client({ timeoutMs: 100, connections: 1, perVuConnections: false });
    const [slow, queued] = await Promise.all([
      c.send(origin, 'GET', '/slow', undefined, undefined, false),
      c.send(origin, 'GET', '/slow', undefined, undefined, false),
    ]);
    expect([slow.cause, queued.cause, queued.error]).toEqual([
      'timeout',
      'timeout',
      'no response within 100 ms',
    ]);
    const after = await Promise.all(
      Array.from({ length: 3 }, () => c.send(origin, 'GET', '/', undefined, undefined, true)),
    );
    expect(after.map((r) => [r.status, r.body?.toString()])).toEqual(Array(3).fill([200, 'hello world']));
    await c.close();
  });

  test('pool mode: requests beyond the connections wait in a queue; a refused connection has its cause', async () => {
    const c = client({ connections: 2, perVuConnections: false });
    const before = sockets;
    const all = await Promise.all(
      Array.from({ length: 10 }, () => c.send(origin, 'GET', '/chunked', undefined, undefined, false)),
    );
    expect(all.map((r) => r.bytes)).toEqual(Array(10).fill(19));
    expect(sockets - before).toBe(2);
    await c.close();
    const refused = await new RawHttpClient('http://127.0.0.1:9', {
      connections: 1,
      perVuConnections: true,
      timeoutMs: 5000,
    }).send('http://127.0.0.1:9', 'GET', '/', undefined, undefined, false);
    expect(refused.cause).toBe('refused');
  });
});
