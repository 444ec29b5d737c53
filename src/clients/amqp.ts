import { EventEmitter } from 'node:events';
import amqp from 'amqplib';
import { describeError } from '../lib/errors.js';
import { maskUrl } from '../lib/redact.js';
import { backoffMs, sleep } from './backoff.js';

export type AmqpLog = (message: string) => void;

/**
 * One AMQP connection that comes back by itself: after a broker restart or a network error it
 * reconnects with backoff and emits `connected` again, so the owner re-creates its channels.
 * `current()` is undefined while disconnected (callers answer 503 or wait).
 */
export class ReconnectingAmqp extends EventEmitter<{
  connected: [amqp.ChannelModel];
  disconnected: [string];
}> {
  private conn: amqp.ChannelModel | undefined;
  private closed = false;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly url: string,
    private readonly log: AmqpLog,
    private readonly name = 'sentinel-ctl',
  ) {
    super();
  }

  current(): amqp.ChannelModel | undefined {
    return this.conn;
  }

  /** Starts the connect loop; resolves on the first successful connection (or close()). */
  start(): Promise<void> {
    const first = new Promise<void>((resolve) => {
      this.once('connected', () => resolve());
      this.abort.signal.addEventListener('abort', () => resolve());
    });
    this.loop ??= this.connectLoop();
    return first;
  }

  private async connectLoop(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      try {
        const conn = await amqp.connect(this.url, {
          timeout: 5000,
          clientProperties: { connection_name: this.name },
        });
        attempt = 0;
        this.conn = conn;
        const gone = new Promise<string>((resolve) => {
          conn.once('close', (err?: Error) => resolve(err ? describeError(err) : 'closed'));
          conn.on('error', () => {});
        });
        this.log(`rabbitmq: connected to ${maskUrl(this.url)}`);
        this.emit('connected', conn);
        const why = await gone;
        this.conn = undefined;
        if (this.closed) return;
        this.log(`rabbitmq: connection lost (${why}); reconnecting`);
        this.emit('disconnected', why);
      } catch (error) {
        // Capped at 3 s: a broker that comes back is found within seconds, not tens of them.
        const wait = backoffMs(attempt++, 250, 3000);
        if (attempt === 1 || attempt % 10 === 0) {
          this.log(`rabbitmq: cannot connect (${describeError(error)}); retrying in ${wait} ms`);
        }
        await sleep(wait, this.abort.signal);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    const conn = this.conn;
    this.conn = undefined;
    await conn?.close().catch(() => {});
  }
}
