/** Arrival processes: trace timestamps with a speed factor, Poisson, bursts, closed loop, sessions. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { multiTurnWorkload, scheduleArrivals, tokenRangeForVocab, WorkloadError, type Workload } from '../src/index.ts';

const range = tokenRangeForVocab(1024);
const plain = (n: number, timed = false): Workload => ({
  name: 'plain', description: '', timed, params: {},
  requests: Array.from({ length: n }, (_, i) => ({ id: `r${i}`, arrivalMs: i * 1000, promptIds: [300], maxTokens: 1 })),
});

describe('arrivals', () => {
  test('trace timestamps divided by the speed factor', () => {
    assert.deepEqual(scheduleArrivals(plain(4, true), { kind: 'trace', speed: 2 }).map((r) => r.arrivalMs), [0, 500, 1000, 1500]);
    assert.throws(() => scheduleArrivals(plain(4, false), { kind: 'trace', speed: 1 }), (e: unknown) => e instanceof WorkloadError && /need a trace workload/.test(e.message));
  });

  test('Poisson: seeded, starts at 0, mean gap ≈ 1 / rate', () => {
    const a = scheduleArrivals(plain(2000), { kind: 'poisson', ratePerS: 4, seed: 9 });
    assert.deepEqual(a.map((r) => r.arrivalMs), scheduleArrivals(plain(2000), { kind: 'poisson', ratePerS: 4, seed: 9 }).map((r) => r.arrivalMs));
    assert.equal(a[0].arrivalMs, 0);
    const meanGap = a[a.length - 1].arrivalMs / (a.length - 1);
    // 250 ms expected; the sample mean of 1999 exponentials has sd 250/√1999 ≈ 5.6 ms
    assert.ok(Math.abs(meanGap - 250) < 25, `mean gap ${meanGap}`);
  });

  test('bursts of B every I ms; closed loop keeps the order at time 0; limit keeps the first N', () => {
    assert.deepEqual(scheduleArrivals(plain(5), { kind: 'burst', size: 2, intervalMs: 100 }).map((r) => r.arrivalMs), [0, 0, 100, 100, 200]);
    assert.deepEqual(scheduleArrivals(plain(3), { kind: 'closed', concurrency: 2 }).map((r) => [r.id, r.arrivalMs]), [['r0', 0], ['r1', 0], ['r2', 0]]);
    assert.deepEqual(scheduleArrivals(plain(5), { kind: 'burst', size: 2, intervalMs: 100 }, 3).map((r) => r.id), ['r0', 'r1', 'r2']);
  });

  test('later turns of a session take the session\'s first arrival', () => {
    const w = multiTurnWorkload({ sessions: 2, turns: 2, systemTokens: 8, userTokens: 4, maxTokens: 2, thinkMs: 0, maxContextTokens: 512, range });
    const a = scheduleArrivals(w, { kind: 'burst', size: 1, intervalMs: 100 });
    assert.deepEqual(a.map((r) => [r.id, r.arrivalMs]), [['s0-t0', 0], ['s0-t1', 0], ['s1-t0', 100], ['s1-t1', 100]]);
  });

  test('bad parameters are refused', () => {
    assert.throws(() => scheduleArrivals(plain(1), { kind: 'poisson', ratePerS: 0 }), /rate must be > 0/);
    assert.throws(() => scheduleArrivals(plain(1), { kind: 'closed', concurrency: 0 }), /concurrency must be a positive integer/);
  });
});
