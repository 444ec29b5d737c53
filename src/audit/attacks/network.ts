import type { Attack, AttackContext } from '../types.js';
import { attack, code } from './prelude.js';

/**
 * Network: the sandbox has its own network namespace with only a loopback interface, so the
 * stack's own ports on 127.0.0.1 (PostgreSQL, Redis, RabbitMQ, the API, the worker's metrics) and
 * the audit's host canaries are unreachable, names do not resolve, and raw sockets need a
 * capability the program does not have. Every target is a loopback address.
 */
export function networkAttacks(ctx: AttackContext): Attack[] {
  const { ports } = ctx;
  // JSON arrays of strings and numbers are valid Python list literals.
  const tcpTargets: Array<[string, number]> = [
    ['PostgreSQL', ports.postgres],
    ['Redis', ports.redis],
    ['RabbitMQ AMQP', ports.rabbitmq],
    ['RabbitMQ management', ports.rabbitmqManagement],
    ['API', ports.api],
    ['worker metrics', ports.workerMetrics],
    ['host canary', ctx.canary.tcpPort],
  ];
  const unixTargets: Array<[string, string]> = [
    [`abstract unix socket @${ctx.canary.unixName} (host canary)`, `\0${ctx.canary.unixName}`],
    [`PostgreSQL unix socket ${ctx.postgresSocket}`, ctx.postgresSocket],
    ['D-Bus system bus /run/dbus/system_bus_socket', '/run/dbus/system_bus_socket'],
    ['Docker socket /var/run/docker.sock', '/var/run/docker.sock'],
  ];
  return [
    attack({
      id: 'net-tcp-stack',
      category: 'network',
      title: "TCP to the stack's own ports on 127.0.0.1 (PostgreSQL, Redis, RabbitMQ, API, metrics, canary)",
      language: 'python',
      body: code`
TARGETS = ${JSON.stringify(tcpTargets)}
for name, port in TARGETS:
    what = 'tcp 127.0.0.1:%d (%s)' % (port, name)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(('127.0.0.1', port))
    except Exception as e:
        blocked(what, why(e))
        s.close()
        continue
    try:
        s.sendall(b'PING\r\n')
        data = s.recv(200)
    except Exception as e:
        data = ('no answer: ' + why(e)).encode()
    escaped(what, 'connected, got ' + show(data))
    s.close()
# The host's API port is taken on the host; if it is free here, this is another network namespace.
what = 'bind 127.0.0.1:%d (the API port, taken on the host)' % ${ports.api}
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.bind(('127.0.0.1', ${ports.api}))
    blocked(what, 'port free here: a network namespace of its own')
except Exception as e:
    if isinstance(e, OSError) and e.errno == errno.EADDRINUSE:
        escaped(what, "EADDRINUSE: this is the host's network namespace")
    else:
        blocked(what, why(e))
s.close()
`,
      expect: {
        text: 'every connection refused; the API port is free inside (own network namespace)',
        statuses: ['SUCCESS'],
        blocked: tcpTargets.length + 1,
      },
    }),
    attack({
      id: 'net-udp',
      category: 'network',
      title: 'UDP to the host canary on 127.0.0.1 (it answers every datagram with a token)',
      language: 'python',
      body: code`
PORT = ${ctx.canary.udpPort}
what = 'udp 127.0.0.1:%d (host canary)' % PORT
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
try:
    s.connect(('127.0.0.1', PORT))
    s.send(b'sentinel-audit udp probe')
    data = s.recv(200)
    escaped(what, 'reply ' + show(data))
except Exception as e:
    blocked(what, why(e))
s.close()
what = 'bind udp 127.0.0.1:%d (the canary port, taken on the host)' % PORT
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(('127.0.0.1', PORT))
    blocked(what, 'port free here: a network namespace of its own')
except Exception as e:
    if isinstance(e, OSError) and e.errno == errno.EADDRINUSE:
        escaped(what, "EADDRINUSE: this is the host's network namespace")
    else:
        blocked(what, why(e))
s.close()
`,
      expect: {
        text: 'no reply (ECONNREFUSED or timeout); the canary port is free inside',
        statuses: ['SUCCESS'],
        blocked: 2,
      },
    }),
    attack({
      id: 'net-dns',
      category: 'network',
      title: 'DNS: resolve example.com, query the loopback resolvers 127.0.0.53 and 127.0.0.1 directly',
      language: 'python',
      body: code`
try:
    infos = socket.getaddrinfo('example.com', 443, proto=socket.IPPROTO_TCP)
    escaped('getaddrinfo example.com', 'resolved to ' + ', '.join(sorted(set(i[4][0] for i in infos))))
except Exception as e:
    blocked('getaddrinfo example.com', type(e).__name__ + ': ' + str(e))
# A DNS query (id 0x5e17, recursion desired, one question: example.com A IN).
query = b'\x5e\x17\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01'
for server in ['127.0.0.53', '127.0.0.1']:
    what = 'udp dns query to %s:53' % server
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    try:
        s.connect((server, 53))
        s.send(query)
        data = s.recv(512)
        escaped(what, 'answer ' + show(data))
    except Exception as e:
        blocked(what, why(e))
    s.close()
`,
      expect: {
        text: 'no name resolves, no resolver answers',
        statuses: ['SUCCESS'],
        blocked: 3,
      },
    }),
    attack({
      id: 'net-raw-sockets',
      category: 'network',
      title: 'raw sockets: SOCK_RAW (ICMP, IPPROTO_RAW, ICMPv6) and AF_PACKET',
      language: 'cpp',
      body: code`
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>

int main() {
  struct Probe { const char *what; int domain, type, proto; };
  const Probe probes[] = {
      {"socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)", AF_INET, SOCK_RAW, IPPROTO_ICMP},
      {"socket(AF_INET, SOCK_RAW, IPPROTO_RAW)", AF_INET, SOCK_RAW, IPPROTO_RAW},
      {"socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)", AF_INET6, SOCK_RAW, IPPROTO_ICMPV6},
      {"socket(AF_PACKET, SOCK_RAW, ETH_P_ALL)", AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)},
  };
  for (const Probe &p : probes) {
    int fd = socket(p.domain, p.type, p.proto);
    if (fd < 0) {
      blocked(p.what, en(errno));
    } else {
      escaped(p.what, "opened (fd " + std::to_string(fd) + "): the program holds CAP_NET_RAW");
      close(fd);
    }
  }
  return 0;
}
`,
      expect: { text: 'every raw socket refused (EPERM: no CAP_NET_RAW)', statuses: ['SUCCESS'], blocked: 4 },
    }),
    attack({
      id: 'net-interfaces',
      category: 'network',
      title: 'interfaces other than lo, routes, /sys/class/net',
      language: 'python',
      body: code`
names = sorted(name for _, name in socket.if_nameindex())
if names == ['lo']:
    blocked('network interfaces', 'only lo')
else:
    escaped('network interfaces', ', '.join(names))
try:
    with open('/proc/net/route') as f:
        routes = [line.split()[:3] for line in f.read().splitlines()[1:] if line.strip()]
    if routes:
        escaped('IPv4 routes', repr(routes))
    else:
        blocked('IPv4 routes', 'none: nothing beyond the loopback is reachable')
except Exception as e:
    blocked('IPv4 routes', why(e))
try:
    escaped('/sys/class/net', 'lists ' + ', '.join(sorted(os.listdir('/sys/class/net'))))
except Exception as e:
    blocked('/sys/class/net', why(e))
`,
      expect: { text: 'only lo, no routes, no /sys', statuses: ['SUCCESS'], blocked: 3 },
    }),
    attack({
      id: 'net-unix-sockets',
      category: 'network',
      title: "unix sockets: the host's abstract namespace (canary), PostgreSQL's socket, D-Bus, Docker",
      language: 'python',
      body: code`
TARGETS = ${JSON.stringify(unixTargets)}
for what, address in TARGETS:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(address)
    except Exception as e:
        blocked(what, why(e))
        s.close()
        continue
    try:
        data = s.recv(200)
    except Exception as e:
        data = ('no answer: ' + why(e)).encode()
    escaped(what, 'connected, got ' + show(data))
    s.close()
`,
      expect: {
        text: 'every unix socket unreachable (ECONNREFUSED / ENOENT)',
        statuses: ['SUCCESS'],
        blocked: unixTargets.length,
      },
    }),
  ];
}
