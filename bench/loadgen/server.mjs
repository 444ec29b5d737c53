// The trivial target of the generator benchmark: node's http server, keep-alive, a fixed 11-byte
// body, nothing else, so the numbers compare the load generators and not the application.
import http from 'node:http';

const port = Number(process.argv[2] ?? 18080);
const body = Buffer.from('hello world');
const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () =>
  process.stderr.write(`server on 127.0.0.1:${port} (pid ${process.pid})\n`),
);
// Bounded: the benchmark never needs it for long.
setTimeout(() => process.exit(0), Number(process.env.SERVER_MAX_S ?? 600) * 1000).unref();
process.on('SIGTERM', () => process.exit(0));
