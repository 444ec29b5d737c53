import { TuneCommand } from '../../tune-command/command.js';
import { redisFlags, sourceFlags, writeFlags } from '../../tune-command/flags.js';
import type { TuneResult } from '../../tune-command/types.js';

export type TuneRedisResult = TuneResult;

export default class TuneRedis extends TuneCommand {
  static override summary = 'Size Redis maxmemory from the keys it holds and measured bytes per key.';
  static override description =
    `maxmemory = keys × bytes per key / 0.75, so the peak sits at the SARK guide's 75 % memory target, rounded up to a MiB and never below the tuning guide's 128mb. With --live the key count is DBSIZE and bytes per key the mean MEMORY USAGE of up to 500 keys found with SCAN; the guide's "each key ≈ 200 bytes" is used only when nothing was measured, and labelled as an estimate. maxmemory-policy allkeys-lru, as the guide sets it (note that it may evict live idempotency locks: size so that evicted_keys stays 0).

--write changes maxmemory / maxmemory-policy where they are written: a redis.conf ConfigMap key or redis-server's --maxmemory argument.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --live',
    '<%= config.bin %> <%= command.id %> --keys 2000000 --bytes-per-key 180',
    '<%= config.bin %> <%= command.id %> --manifests k8s/ --live --dry-run',
  ];
  static override flags = { ...redisFlags, ...sourceFlags, ...writeFlags };

  async run(): Promise<TuneRedisResult> {
    const { flags } = await this.parse(TuneRedis);
    return this.runTopic('redis', flags);
  }
}
