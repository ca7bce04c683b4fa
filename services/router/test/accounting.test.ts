/**
 * InMemoryAccounting against the shared contract, plus what only the in-process side has: options
 * validation with config paths, the factory's choice, the helpers, and a read→pick→reserve loop
 * whose interleaved decisions stay as balanced as one sequential router's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  InMemoryAccounting,
  InvalidAccountingOptionsError,
  RedisAccounting,
  createAccounting,
  decodeBlocksFor,
  isIdleReport,
  loadOf,
  resolveAccountingOptions,
  type LoadAccounting,
} from '../src/accounting/index.ts';
import { CONTRACT_IDLE_GRACE_MS, CONTRACT_TTL_MS, accountingContract, fakeClock, res, table } from './accounting-contract.ts';

void describe('InMemoryAccounting: the contract', () => {
  accountingContract((clock) => Promise.resolve(new InMemoryAccounting({ reservationTtlMs: CONTRACT_TTL_MS, idleGraceMs: CONTRACT_IDLE_GRACE_MS }, { now: clock.now })));
});

void describe('InMemoryAccounting: in-process specifics', () => {
  it('forgets a reservation once both parts are released or it expired (no unbounded growth)', async () => {
    const clock = fakeClock();
    const acc = new InMemoryAccounting({ reservationTtlMs: CONTRACT_TTL_MS }, { now: clock.now });
    await acc.reserve(res('a', 'd1', 1, 10, 'p1'));
    await acc.reserve(res('b', 'd1', 1, 10, 'p1'));
    await acc.reserve(res('c', 'd1', 1, 0));
    assert.equal(acc.openReservations, 3);
    await acc.release('a', 'prefill');
    assert.equal(acc.openReservations, 3);
    await acc.release('a', 'all');
    await acc.release('b', 'all');
    assert.equal(acc.openReservations, 1);
    clock.advance(CONTRACT_TTL_MS);
    await acc.read();
    assert.equal(acc.openReservations, 0);
  });

  it('after close every call rejects', async () => {
    const acc = new InMemoryAccounting();
    await acc.close();
    await assert.rejects(acc.read(), /InMemoryAccounting\.read: accounting is closed/);
    await assert.rejects(acc.reserve(res('a', 'd1', 1, 0)), /closed/);
  });

  it('concurrent read→pick-least-loaded→reserve-if-version loops balance like one router', async () => {
    // Four async "routers" in one process, interleaving at every await; K = 3 workers, no releases.
    const acc = new InMemoryAccounting();
    const workers = ['w0', 'w1', 'w2'];
    let conflicts = 0;
    const loop = async (name: string, n: number) => {
      for (let i = 0; i < n; i++) {
        for (;;) {
          const view = await acc.read();
          await Promise.resolve(); // let another loop mutate between read and reserve
          const pick = workers.reduce((best, w) => (loadOf(view, w).runningSeqs < loadOf(view, best).runningSeqs ? w : best));
          if (await acc.reserve(res(`${name}-${i}`, pick, 1, 0), { ifVersion: view.version })) break;
          conflicts++;
        }
      }
    };
    await Promise.all(['a', 'b', 'c', 'd'].map((n) => loop(n, 25)));
    const final = await acc.read();
    const seqs = workers.map((w) => loadOf(final, w).runningSeqs);
    assert.equal(seqs.reduce((s, x) => s + x, 0), 100);
    assert.ok(Math.max(...seqs) - Math.min(...seqs) <= 1, `unbalanced ${JSON.stringify(seqs)}`);
    assert.ok(conflicts > 0, 'the interleaving produced no version conflict: the test would not catch a missing CAS');
  });
});

void describe('accounting options and factory', () => {
  it('defaults: 10 minute TTL, key prefix duet:router:, read cache 250 ms', () => {
    const o = resolveAccountingOptions();
    assert.equal(o.reservationTtlMs, 600_000);
    assert.equal(o.keyPrefix, 'duet:router:');
    assert.equal(o.readCacheMs, 250);
    assert.equal(o.redisUrl, undefined);
  });

  it('a bad value is reported with its config path', () => {
    assert.throws(
      () => resolveAccountingOptions({ reservationTtlMs: 0 }, 'router.accounting'),
      (err: unknown) => err instanceof InvalidAccountingOptionsError && err.path === 'router.accounting.reservationTtlMs' && err.message.startsWith('router.accounting.reservationTtlMs: '),
    );
    assert.throws(() => resolveAccountingOptions({ redisUrl: 'localhost:6379' }), /^InvalidAccountingOptionsError: accounting\.redisUrl: expected redis:\/\//);
    assert.throws(() => resolveAccountingOptions({ reservationTTL: 5 } as never), (err: unknown) => err instanceof InvalidAccountingOptionsError && /reservationTTL/.test(err.message));
  });

  it('createAccounting: in-memory without a Redis URL, Redis with one (no I/O until the first call)', async () => {
    const mem: LoadAccounting = createAccounting({});
    assert.ok(mem instanceof InMemoryAccounting);
    const shared = createAccounting({ redisUrl: 'redis://127.0.0.1:1', keyPrefix: 'x:' });
    assert.ok(shared instanceof RedisAccounting);
    await Promise.all([mem.close(), shared.close()]);
  });
});

void describe('accounting helpers', () => {
  it('decodeBlocksFor rounds (prompt + max tokens) up to whole blocks', () => {
    assert.equal(decodeBlocksFor(100, 28, 16), 8);
    assert.equal(decodeBlocksFor(100, 29, 16), 9);
    assert.equal(decodeBlocksFor(0, 0, 16), 0);
    assert.throws(() => decodeBlocksFor(1, 1, 0), /blockSize must be > 0/);
  });

  it('isIdleReport: nothing running, waiting, or left to prefill', () => {
    assert.equal(isIdleReport({ runningSeqs: 0, waitingSeqs: 0, inflightPrefillTokens: 0 }), true);
    assert.equal(isIdleReport({ runningSeqs: 1, waitingSeqs: 0, inflightPrefillTokens: 0 }), false);
    assert.equal(isIdleReport({ runningSeqs: 0, waitingSeqs: 2, inflightPrefillTokens: 0 }), false);
    assert.equal(isIdleReport({ runningSeqs: 0, waitingSeqs: 0, inflightPrefillTokens: 9 }), false);
  });

  it('loadOf: zeros for a worker without load', async () => {
    const acc = new InMemoryAccounting();
    await acc.reserve(res('r', 'd1', 3, 0));
    const v = await acc.read();
    assert.deepEqual(loadOf(v, 'd1'), { prefillTokens: 0, decodeBlocks: 3, runningSeqs: 1 });
    assert.deepEqual(loadOf(v, 'zz'), { prefillTokens: 0, decodeBlocks: 0, runningSeqs: 0 });
    assert.deepEqual(table(v), { d1: [0, 3, 1] });
  });
});
