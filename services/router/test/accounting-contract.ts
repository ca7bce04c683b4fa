/**
 * The LoadAccounting contract as one list of scenarios, run against InMemoryAccounting (unit) and
 * RedisAccounting (integration, real redis-server), so both implementations mean the same thing.
 * Every scenario writes the expected loads as `{ worker: [prefillTokens, decodeBlocks, runningSeqs] }`.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { InvalidReservationError, type AccountingView, type LoadAccounting, type Reservation } from '../src/accounting/index.ts';

export const CONTRACT_TTL_MS = 60_000;
export const CONTRACT_IDLE_GRACE_MS = 5_000;
export const CONTRACT_T0 = 1_700_000_000_000;

export interface FakeClock {
  now: () => number;
  set(ms: number): void;
  advance(ms: number): void;
}

export function fakeClock(start = CONTRACT_T0): FakeClock {
  let t = start;
  return { now: () => t, set: (ms) => void (t = ms), advance: (ms) => void (t += ms) };
}

/** Builds a fresh, empty accounting with reservationTtlMs = CONTRACT_TTL_MS, idleGraceMs = CONTRACT_IDLE_GRACE_MS. */
export type MakeAccounting = (clock: FakeClock) => Promise<LoadAccounting>;

export type LoadTable = Record<string, [number, number, number]>;

export function table(view: AccountingView): LoadTable {
  const out: LoadTable = {};
  for (const w of [...view.loads.keys()].sort()) {
    const l = view.loads.get(w)!;
    out[w] = [l.prefillTokens, l.decodeBlocks, l.runningSeqs];
  }
  return out;
}

export const res = (requestId: string, decodeWorkerId: string, decodeBlocks: number, prefillTokens: number, prefillWorkerId?: string): Reservation => ({
  requestId,
  decodeWorkerId,
  decodeBlocks,
  prefillTokens,
  ...(prefillWorkerId ? { prefillWorkerId } : {}),
});

async function scenario(make: MakeAccounting, body: (acc: LoadAccounting, clock: FakeClock) => Promise<void>): Promise<void> {
  const clock = fakeClock();
  const acc = await make(clock);
  try {
    await body(acc, clock);
  } finally {
    await acc.close();
  }
}

export function accountingContract(make: MakeAccounting): void {
  const run = (name: string, body: (acc: LoadAccounting, clock: FakeClock) => Promise<void>): void => void it(name, () => scenario(make, body));

  run('starts empty at version 0', async (acc) => {
    const v = await acc.read();
    assert.equal(v.version, 0);
    assert.deepEqual(table(v), {});
  });

  run('a disaggregated reservation: prefill tokens on the prefill worker, blocks and a sequence on the decode worker', async (acc) => {
    assert.equal(await acc.reserve(res('r1', 'd1', 5, 300, 'p1')), true);
    const v = await acc.read();
    assert.equal(v.version, 1);
    assert.deepEqual(table(v), { d1: [0, 5, 1], p1: [300, 0, 0] });
  });

  run('a local prefill (no prefill worker, or the decode worker named as prefill worker) loads the decode worker', async (acc) => {
    await acc.reserve(res('r1', 'd1', 2, 40));
    await acc.reserve(res('r2', 'd1', 3, 60, 'd1'));
    assert.deepEqual(table(await acc.read()), { d1: [100, 5, 2] });
  });

  run('release prefill gives back only the prefill part; repeats change nothing, not even the version', async (acc) => {
    await acc.reserve(res('r1', 'd1', 5, 300, 'p1'));
    await acc.release('r1', 'prefill');
    const v = await acc.read();
    // p1 is idle again and no longer listed; d1 keeps the decode part.
    assert.deepEqual(table(v), { d1: [0, 5, 1] });
    await acc.release('r1', 'prefill');
    assert.equal((await acc.read()).version, v.version);
    await acc.release('r1', 'all');
    const after = await acc.read();
    assert.deepEqual(table(after), {});
    assert.equal(after.version, v.version + 1);
    await acc.release('r1', 'all');
    await acc.release('r1', 'prefill');
    assert.equal((await acc.read()).version, after.version);
  });

  run('release all first gives back both parts; a late PREFILL_DONE is a no-op', async (acc) => {
    await acc.reserve(res('r1', 'd1', 5, 300, 'p1'));
    await acc.reserve(res('r2', 'd1', 1, 10, 'p1'));
    await acc.release('r1', 'all');
    assert.deepEqual(table(await acc.read()), { d1: [0, 1, 1], p1: [10, 0, 0] });
    const v = (await acc.read()).version;
    await acc.release('r1', 'prefill');
    assert.equal((await acc.read()).version, v);
    assert.deepEqual(table(await acc.read()), { d1: [0, 1, 1], p1: [10, 0, 0] });
  });

  run('releasing an unknown request changes nothing', async (acc) => {
    await acc.reserve(res('r1', 'd1', 1, 1));
    await acc.release('nope', 'all');
    const v = await acc.read();
    assert.equal(v.version, 1);
    assert.deepEqual(table(v), { d1: [1, 1, 1] });
  });

  run('a release naming a worker the request does not involve is ignored (a late REJECTED after re-placement)', async (acc) => {
    await acc.reserve(res('r1', 'd1', 4, 100, 'p1'));
    await acc.release('r1', 'all', { workerId: 'd9' });
    assert.deepEqual(table(await acc.read()), { d1: [0, 4, 1], p1: [100, 0, 0] });
    await acc.release('r1', 'prefill', { workerId: 'p1' });
    await acc.release('r1', 'all', { workerId: 'd1' });
    assert.deepEqual(table(await acc.read()), {});
  });

  run('reserving a request id again replaces its reservation (re-placement)', async (acc) => {
    await acc.reserve(res('r1', 'd1', 4, 100, 'p1'));
    await acc.release('r1', 'prefill');
    await acc.reserve(res('r1', 'd2', 6, 80, 'p2'));
    assert.deepEqual(table(await acc.read()), { d2: [0, 6, 1], p2: [80, 0, 0] });
  });

  run('reserve with ifVersion: the read version succeeds, a stale version returns false and changes nothing', async (acc) => {
    const v0 = await acc.read();
    assert.equal(await acc.reserve(res('a', 'd1', 1, 0), { ifVersion: v0.version }), true);
    const v1 = await acc.read();
    assert.equal(v1.version, v0.version + 1);
    assert.equal(await acc.reserve(res('b', 'd2', 1, 0), { ifVersion: v0.version }), false);
    const v2 = await acc.read();
    assert.equal(v2.version, v1.version);
    assert.deepEqual(table(v2), { d1: [0, 1, 1] });
    assert.equal(await acc.reserve(res('b', 'd2', 1, 0), { ifVersion: v2.version }), true);
    assert.deepEqual(table(await acc.read()), { d1: [0, 1, 1], d2: [0, 1, 1] });
  });

  run('a view is a snapshot: later mutations do not change it', async (acc) => {
    await acc.reserve(res('r1', 'd1', 2, 0));
    await acc.reserve(res('r0', 'd2', 1, 9, 'p1'));
    const v = await acc.read();
    await acc.reserve(res('r2', 'd1', 3, 0));
    const w = await acc.read();
    await acc.release('r0', 'prefill');
    await acc.dropWorker('d2');
    assert.deepEqual(table(v), { d1: [0, 2, 1], d2: [0, 1, 1], p1: [9, 0, 0] });
    assert.deepEqual(table(w), { d1: [0, 5, 2], d2: [0, 1, 1], p1: [9, 0, 0] });
    assert.deepEqual(table(await acc.read()), { d1: [0, 5, 2] });
    assert.ok(Object.isFrozen(v.loads.get('d1')), 'a view hands out frozen loads');
  });

  run('a reservation expires reservationTtlMs after it was made; a late release is then a no-op', async (acc, clock) => {
    await acc.reserve(res('old', 'd1', 2, 50, 'p1'));
    clock.advance(10_000);
    await acc.reserve(res('new', 'd1', 3, 0));
    await acc.release('old', 'prefill');
    clock.advance(CONTRACT_TTL_MS - 10_000 - 1);
    // 1 ms before 'old' expires: both held (old's prefill part already released).
    assert.deepEqual(table(await acc.read()), { d1: [0, 5, 2] });
    clock.advance(1);
    const v = await acc.read();
    assert.deepEqual(table(v), { d1: [0, 3, 1] });
    await acc.release('old', 'all');
    assert.equal((await acc.read()).version, v.version);
    clock.advance(10_000);
    assert.deepEqual(table(await acc.read()), {});
  });

  run('a reserve also sweeps expired reservations, in the same single version step', async (acc, clock) => {
    await acc.reserve(res('old', 'd1', 2, 0));
    clock.advance(CONTRACT_TTL_MS);
    await acc.reserve(res('new', 'd2', 1, 0));
    const v = await acc.read();
    assert.deepEqual(table(v), { d2: [0, 1, 1] });
    assert.equal(v.version, 2);
  });

  run('dropWorker of a decode worker clears it; a remote prefill part stays until PREFILL_DONE', async (acc) => {
    await acc.reserve(res('r1', 'd1', 4, 100, 'p1'));
    await acc.reserve(res('r2', 'd1', 2, 30));
    await acc.reserve(res('r3', 'd2', 1, 7, 'p1'));
    await acc.dropWorker('d1');
    assert.deepEqual(table(await acc.read()), { d2: [0, 1, 1], p1: [107, 0, 0] });
    await acc.release('r1', 'prefill');
    assert.deepEqual(table(await acc.read()), { d2: [0, 1, 1], p1: [7, 0, 0] });
    // r1 and r2 are fully released: FINISHED from anywhere changes nothing.
    const v = (await acc.read()).version;
    await acc.release('r1', 'all');
    await acc.release('r2', 'all');
    assert.equal((await acc.read()).version, v);
  });

  run('dropWorker of a prefill worker clears its prefill parts; decode parts stay', async (acc) => {
    await acc.reserve(res('r1', 'd1', 4, 100, 'p1'));
    await acc.dropWorker('p1');
    assert.deepEqual(table(await acc.read()), { d1: [0, 4, 1] });
    await acc.release('r1', 'all');
    assert.deepEqual(table(await acc.read()), {});
  });

  run('dropWorker of an unknown worker changes nothing', async (acc) => {
    await acc.reserve(res('r1', 'd1', 1, 0));
    await acc.dropWorker('ghost');
    assert.equal((await acc.read()).version, 1);
  });

  run('reconcileIdle releases the worker’s parts of reservations older than idleGraceMs before the report', async (acc, clock) => {
    await acc.reserve(res('leaked', 'd1', 4, 100, 'p1'));
    await acc.reserve(res('leakedLocal', 'd1', 2, 20));
    clock.advance(CONTRACT_IDLE_GRACE_MS);
    await acc.reserve(res('fresh', 'd1', 1, 5, 'p1'));
    // d1 reports idle at the current time: 'leaked' and 'leakedLocal' are exactly idleGraceMs old,
    // 'fresh' may still be on its way to d1. p1's part of 'leaked' is p1's to report.
    assert.equal(await acc.reconcileIdle('d1', clock.now()), 2);
    assert.deepEqual(table(await acc.read()), { d1: [0, 1, 1], p1: [105, 0, 0] });
    assert.equal(await acc.reconcileIdle('p1', clock.now() - 1), 0);
    assert.equal(await acc.reconcileIdle('p1', clock.now()), 1);
    assert.deepEqual(table(await acc.read()), { d1: [0, 1, 1], p1: [5, 0, 0] });
    // A worker without load: nothing to do, version unchanged.
    const v = (await acc.read()).version;
    assert.equal(await acc.reconcileIdle('d7', clock.now() + 10 * CONTRACT_IDLE_GRACE_MS), 0);
    assert.equal((await acc.read()).version, v);
  });

  run('an invalid reservation is rejected with the bad field named, and nothing changes', async (acc) => {
    const bad: Array<[Reservation, string]> = [
      [res('', 'd1', 1, 1), 'requestId'],
      [res('r', '', 1, 1), 'decodeWorkerId'],
      [res('r', 'd1', -1, 1), 'decodeBlocks'],
      [res('r', 'd1', 1, 1.5), 'prefillTokens'],
      [{ ...res('r', 'd1', 1, 1), prefillWorkerId: '' }, 'prefillWorkerId'],
    ];
    for (const [r, field] of bad) {
      await assert.rejects(acc.reserve(r), (err: unknown) => err instanceof InvalidReservationError && err.field === field);
    }
    assert.equal((await acc.read()).version, 0);
  });
}
