/** Adaptive spinning: a wait answered while spinning raises the budget, one that must sleep halves it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signal, SPIN_MAX_MS, SPIN_MIN_MS, Waiter } from '../../src/parallel/sync.ts';

test('a wait answered during the spin returns and keeps the budget at most SPIN_MAX_MS', () => {
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  signal(ctl, 0, 3);
  const w = new Waiter();
  w.budgetMs = 0.1;
  w.wait(ctl, 0, 3, 1000);
  assert.equal(w.budgetMs, 0.1 * 1.25 + SPIN_MIN_MS);
  w.budgetMs = SPIN_MAX_MS;
  w.wait(ctl, 0, 2, 1000);
  assert.equal(w.budgetMs, SPIN_MAX_MS);
});

test('a wait that has to sleep halves the budget, down to SPIN_MIN_MS; no answer throws after the timeout', () => {
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const w = new Waiter();
  assert.throws(() => w.wait(ctl, 0, 1, 20), /no answer within 20 ms \(waiting for 1, at 0\)/);
  assert.equal(w.budgetMs, SPIN_MAX_MS / 2);
  for (let i = 0; i < 20; i++) assert.throws(() => w.wait(ctl, 0, 1, 1));
  assert.equal(w.budgetMs, SPIN_MIN_MS);
});

test('check() runs while sleeping and its error ends the wait', () => {
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const w = new Waiter();
  assert.throws(() => w.wait(ctl, 0, 1, 60_000, () => { throw new Error('peer failed'); }), /peer failed/);
});
