/**
 * RedisAccounting against a real redis-server: the shared contract (each scenario under its own key
 * prefix), then what sharing adds: two replicas on one prefix, the version compare-and-set across
 * clients, the read cache refreshed by a failed reserve, the key layout, and a dead Redis.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { freePort, uniqueKeyPrefix, withServers } from '@duet/testkit';
import { AccountingUnavailableError, RedisAccounting, type AccountingOptionsInput } from '../src/accounting/index.ts';
import { CONTRACT_IDLE_GRACE_MS, CONTRACT_TTL_MS, accountingContract, fakeClock, res, table, type FakeClock } from './accounting-contract.ts';

const servers = withServers({ nats: false, redis: true });

function make(opts: Partial<AccountingOptionsInput> & { keyPrefix: string }, clock?: FakeClock): RedisAccounting {
  return new RedisAccounting(
    { redisUrl: servers.redis.url, reservationTtlMs: CONTRACT_TTL_MS, idleGraceMs: CONTRACT_IDLE_GRACE_MS, readCacheMs: 0, ...opts },
    clock ? { now: clock.now } : {},
  );
}

void describe('RedisAccounting: the contract', () => {
  accountingContract((clock) => Promise.resolve(make({ keyPrefix: uniqueKeyPrefix() }, clock)));
});

void describe('RedisAccounting: shared by replicas', () => {
  let raw: Redis;
  before(() => {
    raw = new Redis(servers.redis.url);
  });
  after(async () => {
    await raw.quit();
  });

  /** Two replicas on one prefix and one fake clock. */
  async function pair(opts: Partial<AccountingOptionsInput> = {}): Promise<{ a: RedisAccounting; b: RedisAccounting; clock: FakeClock; prefix: string; close: () => Promise<void> }> {
    const prefix = uniqueKeyPrefix();
    const clock = fakeClock();
    const a = make({ keyPrefix: prefix, ...opts }, clock);
    const b = make({ keyPrefix: prefix, ...opts }, clock);
    await Promise.all([a.read(), b.read()]);
    return { a, b, clock, prefix, close: async () => void (await Promise.all([a.close(), b.close()])) };
  }

  it('one replica reserves, the other sees it and releases it; duplicate releases from both change nothing', async () => {
    const { a, b, close } = await pair();
    try {
      await a.reserve(res('r1', 'd1', 4, 100, 'p1'));
      assert.deepEqual(table(await b.read()), { d1: [0, 4, 1], p1: [100, 0, 0] });
      // Every replica receives every event: both release the same phases.
      await Promise.all([a.release('r1', 'prefill'), b.release('r1', 'prefill')]);
      await Promise.all([b.release('r1', 'all'), a.release('r1', 'all'), a.release('r1', 'prefill')]);
      const v = await a.read();
      assert.deepEqual(table(v), {});
      // reserve, prefill release, all release: three mutations, duplicates did not count.
      assert.equal(v.version, 3);
    } finally {
      await close();
    }
  });

  it('compare-and-set across replicas: a reads, b reserves, a reserve at the version a read returns false', async () => {
    const { a, b, close } = await pair();
    try {
      const seenByA = await a.read();
      assert.equal(await b.reserve(res('rb', 'd1', 1, 0), { ifVersion: (await b.read()).version }), true);
      assert.equal(await a.reserve(res('ra', 'd1', 1, 0), { ifVersion: seenByA.version }), false);
      assert.deepEqual(table(await a.read()), { d1: [0, 1, 1] });
    } finally {
      await close();
    }
  });

  it('read cache: a stale cached view is refused by reserve, whose reply refreshes the cache without another round trip', async () => {
    const { a, b, clock, close } = await pair({ readCacheMs: 1_000 });
    try {
      const before1 = await a.read();
      await b.reserve(res('rb', 'd1', 1, 0));
      clock.advance(999);
      // Within readCacheMs a answers from its cache: b's reservation is not in it.
      const cached = await a.read();
      assert.equal(cached.version, before1.version);
      assert.equal(await a.reserve(res('ra', 'd2', 1, 0), { ifVersion: cached.version }), false);
      const calls0 = await evalshaCalls(raw);
      const fresh = await a.read();
      assert.equal(await evalshaCalls(raw), calls0, 'read after a refused reserve went to Redis');
      assert.deepEqual(table(fresh), { d1: [0, 1, 1] });
      assert.equal(await a.reserve(res('ra', 'd2', 1, 0), { ifVersion: fresh.version }), true);
      // a's own release that changed something drops its cache: the next read shows it at once.
      await a.release('ra', 'all');
      assert.deepEqual(table(await a.read()), { d1: [0, 1, 1] });
      await a.reserve(res('ra', 'd2', 1, 0));
      clock.advance(1_000);
      // The cache is older than readCacheMs: a asks Redis again.
      await b.release('rb', 'all');
      assert.deepEqual(table(await a.read()), { d2: [0, 1, 1] });
    } finally {
      await close();
    }
  });

  it('keeps its state in six keys under the configured prefix, nothing else', async () => {
    const { a, prefix, close } = await pair();
    try {
      await a.reserve(res('r1', 'd1', 4, 100, 'p1'));
      const keys = (await raw.keys(`${prefix}*`)).sort();
      const names = ['{acct}:blocks', '{acct}:expiry', '{acct}:prefill', '{acct}:reservations', '{acct}:seqs', '{acct}:version'];
      assert.deepEqual(keys, names.map((k) => `${prefix}${k}`));
      await a.release('r1', 'all');
      // Fully released: hashes and the expiry set empty out (Redis deletes empty keys); the version stays.
      assert.deepEqual(await raw.keys(`${prefix}*`), [`${prefix}{acct}:version`]);
    } finally {
      await close();
    }
  });

  it('sweeps at most sweepLimit expired reservations per call', async () => {
    const { a, clock, close } = await pair({ sweepLimit: 2 });
    try {
      for (const id of ['x', 'y', 'z']) await a.reserve(res(id, 'd1', 1, 0));
      clock.advance(CONTRACT_TTL_MS);
      assert.deepEqual(table(await a.read()), { d1: [0, 1, 1] });
      assert.deepEqual(table(await a.read()), {});
    } finally {
      await close();
    }
  });

  it('an unreachable Redis fails the call with AccountingUnavailableError naming the operation', async () => {
    const warned: string[] = [];
    const logger = { warn: (_obj: object, msg: string) => void warned.push(msg) };
    const acc = new RedisAccounting({ redisUrl: `redis://127.0.0.1:${await freePort()}`, keyPrefix: uniqueKeyPrefix(), commandTimeoutMs: 500 }, { logger });
    try {
      await assert.rejects(acc.read(), (err: unknown) => err instanceof AccountingUnavailableError && err.op === 'read' && /load accounting read failed/.test(err.message));
      assert.ok(warned.includes('accounting redis connection error'), `logged: ${JSON.stringify(warned)}`);
    } finally {
      await acc.close();
    }
  });
});

async function evalshaCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0);
}
