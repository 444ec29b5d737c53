import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

/**
 * Host-side tripwires for the network attacks: a TCP listener and a UDP socket on 127.0.0.1 and a
 * unix socket in the host's abstract namespace. Each answers with a random token and counts every
 * contact, so an escape shows twice: from the host (a count above zero) and in the program's
 * output (the token, which the evaluator treats as a secret).
 */
export interface CanaryHits {
  tcp: number;
  udp: number;
  unix: number;
}

export interface Canaries {
  tcpPort: number;
  udpPort: number;
  /** Abstract socket name, without the leading NUL. */
  unixName: string;
  token: string;
  hits(): CanaryHits;
  close(): Promise<void>;
}

export async function startCanaries(): Promise<Canaries> {
  const token = `sentinel-canary-${randomBytes(12).toString('hex')}`;
  const unixName = `sentinel-audit-${randomBytes(6).toString('hex')}`;
  const hits: CanaryHits = { tcp: 0, udp: 0, unix: 0 };

  const answer = (kind: 'tcp' | 'unix') => (socket: net.Socket) => {
    hits[kind]++;
    socket.on('error', () => {});
    socket.end(`${token}\n`);
  };
  const tcp = net.createServer(answer('tcp'));
  const unix = net.createServer(answer('unix'));
  const udp = dgram.createSocket('udp4');
  udp.on('message', (_msg, rinfo) => {
    hits.udp++;
    udp.send(`${token}\n`, rinfo.port, rinfo.address);
  });

  const listen = (server: net.Server, target: number | string) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (typeof target === 'number') server.listen(target, '127.0.0.1', () => resolve());
      else server.listen(target, () => resolve());
    });
  await listen(tcp, 0);
  await listen(unix, `\0${unixName}`);
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(0, '127.0.0.1', () => resolve());
  });

  return {
    tcpPort: (tcp.address() as net.AddressInfo).port,
    udpPort: udp.address().port,
    unixName,
    token,
    hits: () => ({ ...hits }),
    close: async () => {
      await Promise.all([
        new Promise<void>((resolve) => tcp.close(() => resolve())),
        new Promise<void>((resolve) => unix.close(() => resolve())),
        new Promise<void>((resolve) => udp.close(() => resolve())),
      ]);
    },
  };
}
