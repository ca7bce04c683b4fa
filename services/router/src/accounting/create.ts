/**
 * The one place that chooses the implementation: a Redis URL shares the accounting between router
 * replicas (RedisAccounting); without one the router keeps it in process (InMemoryAccounting), the
 * single-replica default.
 */
import { InMemoryAccounting } from './memory.ts';
import { resolveAccountingOptions, type AccountingOptionsInput } from './options.ts';
import { RedisAccounting, type RedisAccountingDeps } from './redis.ts';
import type { LoadAccounting } from './types.ts';

export function createAccounting(opts: AccountingOptionsInput = {}, deps: RedisAccountingDeps = {}): LoadAccounting {
  const o = resolveAccountingOptions(opts);
  return o.redisUrl ? new RedisAccounting({ ...opts, redisUrl: o.redisUrl }, deps) : new InMemoryAccounting(opts, deps);
}
