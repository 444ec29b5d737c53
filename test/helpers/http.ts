import http from 'node:http';
import net from 'node:net';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: unknown;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * One HTTP request with node:http (so the client address can be chosen: the API's rate limit is
 * per IP, and each test takes an address of its own in 127.0.0.0/8).
 */
export function request(
  url: string,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    from?: string;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, localAddress: opts.from, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: parseJson(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** POST a JSON submission (or any text as the body). */
export function postSubmission(
  base: string,
  body: unknown,
  opts: { from?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return request(`${base}/api/v1/submissions`, {
    method: 'POST',
    body: text,
    from: opts.from,
    headers: { 'content-type': 'application/json', ...opts.headers },
  });
}

/**
 * Writes raw bytes to the server and reads the answer: until the connection closes, or until one
 * whole response (headers + Content-Length body) has arrived. Bytes that stop mid-request are a
 * slow client: the answer is then whatever the server sends when it gives up.
 */
export function rawExchange(
  host: string,
  port: number,
  bytes: string | Buffer,
  opts: { from?: string } = {},
): Promise<{ raw: string; status: number; headers: Record<string, string>; json: unknown; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, localAddress: opts.from });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      const raw = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = raw.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
      socket.destroy();
      resolve({ raw, status, headers, json: parseJson(rest.join('\r\n\r\n')), closed });
    };
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const raw = Buffer.concat(chunks).toString('utf8');
      const end = raw.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(raw.slice(0, end));
      if (length && Buffer.byteLength(raw.slice(end + 4)) >= Number(length[1])) finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', (e) => (chunks.length ? finish(true) : reject(e)));
    socket.write(bytes);
  });
}
