import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { describeError } from '../lib/errors.js';
import { type LaunchSpec, NativeService } from './native-service.js';
import type { HealthResult, ServicePort, StartContext } from './types.js';

export const REDIS_SERVER = '/usr/bin/redis-server';

/** A private Redis with the tuning guide's "Redis" settings (maxmemory, policy, appendonly). */
export class RedisService extends NativeService {
  readonly name = 'redis' as const;
  protected override startTimeoutMs = 15_000;

  ports(): ServicePort[] {
    return [{ name: 'resp', port: this.config.ports.redis }];
  }

  requiredBinaries(): string[] {
    return [REDIS_SERVER];
  }

  get configFile(): string {
    return path.join(this.dir, 'redis.conf');
  }

  /** The redis.conf written on every start, so a changed config takes effect at the next `up`. */
  renderConfig(): string {
    const r = this.config.redis;
    const lines = [
      '# Written by sentinel-ctl on every `up`; edit sentinel.config.yaml instead.',
      `port ${this.config.ports.redis}`,
      'bind 127.0.0.1',
      'protected-mode yes',
      'daemonize no',
      `dir ${path.join(this.dir, 'data')}`,
      'logfile ""',
      "save ''",
      `appendonly ${r.appendonly ? 'yes' : 'no'}`,
      'appendfsync everysec',
      `maxmemory ${r.maxmemory}`,
      `maxmemory-policy ${r.maxmemoryPolicy}`,
      `requirepass "${this.config.credentials.redis.password.replace(/["\\]/g, '\\$&')}"`,
    ];
    return `${lines.join('\n')}\n`;
  }

  protected async prepare(_ctx: StartContext): Promise<void> {
    mkdirSync(path.join(this.dir, 'data'), { recursive: true });
    writeFileSync(this.configFile, this.renderConfig(), { mode: 0o600 });
  }

  protected launchSpecs(): LaunchSpec[] {
    return [
      {
        role: 'server',
        file: REDIS_SERVER,
        args: [this.configFile],
        cwd: this.dir,
        // redis-server rewrites its argv to "redis-server 127.0.0.1:PORT".
        match: `127.0.0.1:${this.config.ports.redis}`,
        stopSignal: 'SIGTERM',
        stopGraceMs: 10_000,
      },
    ];
  }

  client(timeoutMs = 2000): Redis {
    return new Redis({
      host: '127.0.0.1',
      port: this.config.ports.redis,
      password: this.config.credentials.redis.password,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: true,
      lazyConnect: true,
    });
  }

  async health(timeoutMs = 2000): Promise<HealthResult> {
    const redis = this.client(timeoutMs);
    redis.on('error', () => {});
    try {
      await redis.connect();
      const pong = await redis.ping();
      const info = await redis.info('server');
      const version = /redis_version:(\S+)/.exec(info)?.[1];
      return { ok: pong === 'PONG', detail: `PING → ${pong}`, version };
    } catch (error) {
      return { ok: false, detail: describeError(error) };
    } finally {
      redis.disconnect();
    }
  }
}
