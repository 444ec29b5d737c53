import type { Redis } from 'ioredis';

/**
 * The idempotency lock per job id (docs/design.md "The stack contract"): SET NX with a short TTL that the holder
 * renews while the job runs. A worker killed mid-job stops renewing, so its lock lapses within
 * one TTL and the redelivered job can run; a live holder keeps it, so a duplicate delivery waits.
 */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export const lockKey = (jobId: string) => `sentinel:lock:job:${jobId}`;

export class JobLock {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    readonly jobId: string,
    private readonly owner: string,
    private readonly ttlMs = 15_000,
  ) {}

  /** True when this owner now holds the lock. */
  async acquire(): Promise<boolean> {
    const ok = await this.redis.set(lockKey(this.jobId), this.owner, 'PX', this.ttlMs, 'NX');
    if (ok !== 'OK') return false;
    this.timer = setInterval(
      () => {
        this.redis.eval(RENEW, 1, lockKey(this.jobId), this.owner, String(this.ttlMs)).catch(() => {});
      },
      Math.floor(this.ttlMs / 3),
    );
    this.timer.unref();
    return true;
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.redis.eval(RELEASE, 1, lockKey(this.jobId), this.owner).catch(() => {});
  }
}
