import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import amqp from 'amqplib';
import { describeError, EnvironmentError } from '../../lib/errors.js';
import { localEndpoints } from '../endpoints.js';
import { type LaunchSpec, NativeService } from '../native-service.js';
import type { HealthResult, ServicePort, StartContext } from '../types.js';
import { declareTopology } from './topology.js';

export const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
export const EPMD = '/usr/bin/epmd';

const tcpOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.setTimeout(500);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
  });

/**
 * A private RabbitMQ node isolated in the state dir (docs/design.md "RabbitMQ as a private node"):
 * its own HOME and cookie, its own epmd, loopback-only listeners, the management and Prometheus
 * plugins, the tuning guide's watermark and disk limit, and the execution_tasks topology.
 */
export class RabbitMQService extends NativeService {
  readonly name = 'rabbitmq' as const;
  // Boot is CPU-bound (≈9 s on 2 cores, docs/design.md "RabbitMQ as a private node"); a busy CI machine needs more.
  protected override startTimeoutMs = 90_000;

  ports(): ServicePort[] {
    const p = this.config.ports;
    return [
      { name: 'amqp', port: p.rabbitmq },
      { name: 'management', port: p.rabbitmqManagement },
      { name: 'prometheus', port: p.rabbitmqPrometheus },
      { name: 'dist', port: p.rabbitmqDist },
      { name: 'epmd', port: p.epmd },
    ];
  }

  requiredBinaries(): string[] {
    return [RABBITMQ_SERVER, EPMD];
  }

  get nodeName(): string {
    return `sentinel${this.config.ports.rabbitmq}@localhost`;
  }

  renderConfig(): string {
    const { ports, rabbitmq: r, credentials } = this.config;
    const c = credentials.rabbitmq;
    return `${[
      '# Written by sentinel-ctl on every `up`; edit sentinel.config.yaml instead.',
      `listeners.tcp.1 = 127.0.0.1:${ports.rabbitmq}`,
      'management.tcp.ip = 127.0.0.1',
      `management.tcp.port = ${ports.rabbitmqManagement}`,
      'prometheus.tcp.ip = 127.0.0.1',
      `prometheus.tcp.port = ${ports.rabbitmqPrometheus}`,
      'loopback_users.guest = true',
      // Applied when the node's database is created (first start).
      `default_user = ${c.user}`,
      `default_pass = ${c.password}`,
      `default_vhost = ${c.vhost}`,
      'default_user_tags.administrator = true',
      'default_permissions.configure = .*',
      'default_permissions.read = .*',
      'default_permissions.write = .*',
      // Tuning guide "RabbitMQ > Memory & Disk".
      `vm_memory_high_watermark.relative = ${r.vmMemoryHighWatermark}`,
      `disk_free_limit.absolute = ${r.diskFreeLimit}`,
      `consumer_timeout = ${r.consumerTimeoutMs}`,
      `channel_max = ${r.channelMax}`,
    ].join('\n')}\n`;
  }

  private env(): NodeJS.ProcessEnv {
    const d = this.dir;
    const p = this.config.ports;
    return {
      HOME: path.join(d, 'home'),
      PATH: '/usr/lib/rabbitmq/bin:/usr/bin:/bin:/usr/sbin:/sbin',
      LANG: 'C.UTF-8',
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(p.rabbitmq),
      RABBITMQ_DIST_PORT: String(p.rabbitmqDist),
      // An empty env file, so /etc/rabbitmq/rabbitmq-env.conf does not leak in.
      RABBITMQ_CONF_ENV_FILE: path.join(d, 'rabbitmq-env.conf'),
      RABBITMQ_CONFIG_FILE: path.join(d, 'rabbitmq.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: path.join(d, 'enabled_plugins'),
      RABBITMQ_MNESIA_BASE: path.join(d, 'mnesia'),
      RABBITMQ_LOG_BASE: path.join(d, 'log'),
      RABBITMQ_LOGS: '-',
      RABBITMQ_PID_FILE: path.join(d, 'rabbitmq.pid'),
      ERL_EPMD_PORT: String(p.epmd),
      ERL_EPMD_ADDRESS: '127.0.0.1',
      // Without this the distribution port listens on 0.0.0.0.
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    };
  }

  protected async prepare(_ctx: StartContext): Promise<void> {
    const d = this.dir;
    for (const sub of ['home', 'mnesia', 'log']) mkdirSync(path.join(d, sub), { recursive: true });
    const cookie = path.join(d, 'home', '.erlang.cookie');
    if (!existsSync(cookie)) {
      writeFileSync(cookie, randomBytes(24).toString('hex').toUpperCase(), { mode: 0o400 });
    }
    writeFileSync(path.join(d, 'rabbitmq-env.conf'), '');
    writeFileSync(path.join(d, 'rabbitmq.conf'), this.renderConfig(), { mode: 0o600 });
    writeFileSync(path.join(d, 'enabled_plugins'), '[rabbitmq_management,rabbitmq_prometheus].\n');
  }

  protected launchSpecs(): LaunchSpec[] {
    const env = this.env();
    const epmdPort = this.config.ports.epmd;
    return [
      {
        role: 'epmd',
        file: EPMD,
        args: ['-port', String(epmdPort), '-address', '127.0.0.1'],
        env,
        cleanEnv: true,
        cwd: this.dir,
        match: `-port ${epmdPort}`,
        stopSignal: 'SIGTERM',
        stopGraceMs: 3000,
        ready: () => tcpOpen(epmdPort),
      },
      {
        role: 'server',
        file: RABBITMQ_SERVER,
        args: [],
        env,
        cleanEnv: true,
        cwd: this.dir,
        match: 'rabbitmq-server',
        // The script traps SIGTERM and stops the node gracefully (≈6 s).
        stopSignal: 'SIGTERM',
        stopGraceMs: 30_000,
      },
    ];
  }

  get amqpUrl(): string {
    return localEndpoints(this.config).rabbitmqUrl;
  }

  /** The management API, authenticated as the stack's user. */
  async management<T>(apiPath: string, timeoutMs = 2000): Promise<T> {
    const c = this.config.credentials.rabbitmq;
    const res = await fetch(`http://127.0.0.1:${this.config.ports.rabbitmqManagement}${apiPath}`, {
      headers: { authorization: `Basic ${Buffer.from(`${c.user}:${c.password}`).toString('base64')}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) throw new Error(`management API ${apiPath}: HTTP ${res.status}`);
    return (await res.json()) as T;
  }

  protected override async bootstrap(ctx: StartContext): Promise<void> {
    const conn = await amqp.connect(this.amqpUrl, { timeout: 5000 });
    try {
      const ch = await conn.createChannel();
      await declareTopology(ch, { deliveryLimit: this.config.rabbitmq.deliveryLimit });
      await ch.close();
    } catch (error) {
      throw new EnvironmentError(`rabbitmq: declaring execution_tasks failed: ${describeError(error)}`, {
        code: 'BOOTSTRAP_FAILED',
        suggestion:
          'If the queue exists with other arguments, delete it in the management UI or remove the state dir.',
      });
    } finally {
      await conn.close().catch(() => {});
    }
    // `diagnose` reads the management API; it comes up a moment after AMQP.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !ctx.signal.aborted) {
      try {
        await this.management('/api/overview');
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    ctx.progress('rabbitmq: the management API is not answering yet; `diagnose` falls back to AMQP');
  }

  async health(timeoutMs = 2000): Promise<HealthResult> {
    let conn: amqp.ChannelModel | undefined;
    try {
      conn = await amqp.connect(this.amqpUrl, { timeout: timeoutMs });
      const ch = await conn.createChannel();
      await ch.close();
      const version = (conn.connection as unknown as { serverProperties?: { version?: string } })
        .serverProperties?.version;
      return { ok: true, detail: 'AMQP channel opened', version };
    } catch (error) {
      return { ok: false, detail: describeError(error) };
    } finally {
      await conn?.close().catch(() => {});
    }
  }
}
