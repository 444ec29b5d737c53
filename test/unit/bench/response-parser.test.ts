import { describe, expect, test } from 'vitest';
import { Parsed, ResponseParser } from '../../../src/bench/response-parser.js';

/** Feeds `text` cut at `cuts` through one reused buffer (as the socket's read buffer is reused). */
function parse(text: string, cuts: number[] = [], opts: { head?: boolean; wantBody?: boolean } = {}) {
  const p = new ResponseParser();
  p.reset(opts.head ?? false, opts.wantBody ?? true);
  const bytes = Buffer.from(text, 'latin1');
  const shared = Buffer.alloc(bytes.length + 16, 0x78); // stale bytes after each read's end
  const bounds = [0, ...cuts, bytes.length];
  const results: number[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const n = bytes.copy(shared, 0, bounds[i], bounds[i + 1]);
    shared.fill(0x78, n);
    results.push(p.feed(shared, n));
    if (results.at(-1) !== Parsed.More) break;
  }
  return {
    p,
    last: results.at(-1),
    results,
    body: p.body ? Buffer.concat(p.body).toString('latin1') : undefined,
  };
}

const every = (text: string) => Array.from({ length: text.length - 1 }, (_, i) => [i + 1]);

describe('HTTP/1.1 response parser of the lean client', () => {
  const cl =
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: keep-alive\r\n\r\nhello world';
  test('content-length body, header names in any case, cut at every byte', () => {
    for (const cuts of [[], ...every(cl)]) {
      const r = parse(cl, cuts);
      expect([r.last, r.p.status, r.p.bytes, r.body, r.p.closeAfter], `cut at ${cuts}`).toEqual([
        Parsed.Complete,
        200,
        11,
        'hello world',
        false,
      ]);
    }
    expect(parse(cl.replace('Content-Length', 'content-LENGTH')).body).toBe('hello world');
  });

  test('chunked body with an extension and a trailer, cut at every byte; incomplete until the last chunk', () => {
    const text =
      'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n6;ext=1\r\nhello \r\nA\r\nchunked wo\r\n3\r\nrld\r\n0\r\nx-trailer: 1\r\n\r\n';
    for (const cuts of [[], ...every(text)]) {
      const r = parse(text, cuts);
      expect([r.last, r.p.status, r.p.bytes, r.body], `cut at ${cuts}`).toEqual([
        Parsed.Complete,
        201,
        19,
        'hello chunked world',
      ]);
    }
    expect(parse(text.slice(0, -2)).last).toBe(Parsed.More);
  });

  test('connection: close and HTTP/1.0 ask to close; no length and not chunked reads until close', () => {
    const close = parse('HTTP/1.1 200 OK\r\nconnection: Close\r\ncontent-length: 2\r\n\r\nok');
    expect([close.last, close.p.closeAfter]).toEqual([Parsed.Complete, true]);
    const old = parse('HTTP/1.0 200 OK\r\n\r\nuntil the end', [20]);
    expect([old.last, old.p.closeAfter, old.p.untilClose, old.p.bytes, old.body]).toEqual([
      Parsed.More,
      true,
      true,
      13,
      'until the end',
    ]);
  });

  test('no body for HEAD, 204 and 304 whatever the length says; status of an error response', () => {
    expect(parse(cl, [], { head: true })).toMatchObject({ last: Parsed.Complete, body: '' });
    expect(parse('HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n').last).toBe(Parsed.Complete);
    expect(parse('HTTP/1.1 304 Not Modified\r\n\r\n').p.status).toBe(304);
    const missing = parse('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
    expect([missing.last, missing.p.status, missing.p.bytes]).toEqual([Parsed.Complete, 404, 0]);
  });

  test('bytes that are not an HTTP/1.x response are malformed; the body is only kept when asked', () => {
    expect(parse('SSH-2.0-OpenSSH_9.6\r\n\r\n').last).toBe(Parsed.Malformed);
    expect(parse('HTTP/1.1 2x0 OK\r\n\r\n').last).toBe(Parsed.Malformed);
    expect(parse('HTTP/1.1 200 OK\r\ncontent-length: abc\r\n\r\n').last).toBe(Parsed.Malformed);
    expect(parse('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n').last).toBe(Parsed.Malformed);
    const r = parse(cl, [], { wantBody: false });
    expect([r.last, r.p.bytes, r.p.body]).toEqual([Parsed.Complete, 11, undefined]);
  });

  test('a response repeated byte for byte gives the same outcome; one changed byte is parsed afresh', () => {
    // One parser over many responses, as a connection has: reset, one read, next.
    const p = new ResponseParser();
    const read = Buffer.alloc(1024, 0x78);
    const feed = (text: string, opts: { head?: boolean; cut?: number } = {}) => {
      p.reset(opts.head ?? false, false);
      const bytes = Buffer.from(text, 'latin1');
      const parts = opts.cut ? [bytes.subarray(0, opts.cut), bytes.subarray(opts.cut)] : [bytes];
      let r: number = Parsed.More;
      for (const part of parts) {
        const n = part.copy(read);
        read.fill(0x78, n);
        r = p.feed(read, n);
      }
      return [r, p.status, p.bytes, p.closeAfter];
    };
    const ok = cl;
    // Same length, other bytes: the status, and `close` padded to keep-alive's length.
    const failed = cl.replace('200 OK', '503 OK');
    const closing = cl.replace('keep-alive', 'close     ');
    expect(closing.length).toBe(ok.length);
    expect(feed(ok)).toEqual([Parsed.Complete, 200, 11, false]);
    expect(feed(ok)).toEqual([Parsed.Complete, 200, 11, false]);
    expect(feed(failed)).toEqual([Parsed.Complete, 503, 11, false]);
    expect(feed(failed)).toEqual([Parsed.Complete, 503, 11, false]);
    expect(feed(closing)).toEqual([Parsed.Complete, 200, 11, true]);
    expect(feed(ok)).toEqual([Parsed.Complete, 200, 11, false]);
    // The same bytes answering a HEAD request: no body, whatever the last GET read.
    expect(feed(ok, { head: true })).toEqual([Parsed.Complete, 200, 0, false]);
    // Cut in two reads after it was remembered whole: parsed, same outcome.
    expect(feed(failed, { cut: 20 })).toEqual([Parsed.Complete, 503, 11, false]);
    expect(feed(ok, { cut: 70 })).toEqual([Parsed.Complete, 200, 11, false]);
  });
});
