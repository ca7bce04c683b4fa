/**
 * The transfer deadline counts from the last progress, with one timer that re-arms lazily: fake
 * time (node:test mock timers plus a clock that moves with them), so every instant is exact.
 */
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { Deadline } from '../src/deadline.ts';

describe('Deadline', () => {
  let nowMs = 0;
  const clock = (): number => nowMs;
  /** Advances the fake clock and the mocked timers together. */
  const advance = (ms: number): void => {
    for (let i = 0; i < ms; i++) {
      nowMs++;
      mock.timers.tick(1);
    }
  };

  beforeEach(() => {
    nowMs = 1000;
    mock.timers.enable({ apis: ['setTimeout'] });
  });
  afterEach(() => mock.timers.reset());

  test('with no progress it expires exactly budgetMs after it started', () => {
    let expired = 0;
    new Deadline(100, () => expired++, clock);
    advance(99);
    assert.equal(expired, 0);
    advance(1);
    assert.equal(expired, 1);
    advance(500);
    assert.equal(expired, 1, 'expires once');
  });

  test('progress moves it: budgetMs after the last extend(), however many came before', () => {
    let expired = 0;
    const d = new Deadline(100, () => expired++, clock);
    advance(60);
    d.extend(); // now ends at +160
    advance(30);
    d.extend(); // now ends at +190
    assert.equal(d.remainingMs(), 100);
    advance(99); // t = +189: the first timer fired at +100 and re-armed, still nothing
    assert.equal(expired, 0);
    advance(1); // t = +190
    assert.equal(expired, 1);
    assert.equal(d.remainingMs(), 0);
  });

  test('a transfer that keeps moving never expires, then stalls and does', () => {
    let expired = 0;
    const d = new Deadline(50, () => expired++, clock);
    for (let i = 0; i < 20; i++) {
      advance(40);
      d.extend();
    }
    assert.equal(expired, 0, '800 ms of progress against a 50 ms budget');
    advance(50);
    assert.equal(expired, 1);
  });

  test('clear() stops it for good; extend() after clear() or expiry changes nothing', () => {
    let expired = 0;
    const d = new Deadline(100, () => expired++, clock);
    d.clear();
    d.extend();
    advance(1000);
    assert.equal(expired, 0);

    const e = new Deadline(10, () => expired++, clock);
    advance(10);
    assert.equal(expired, 1);
    e.extend();
    advance(100);
    assert.equal(expired, 1);
  });

  test('bound() rejects with DeadlineExceeded when the deadline passes first', async () => {
    const d = new Deadline(100, () => undefined, clock);
    const never = new Promise<never>(() => undefined);
    const bounded = d.bound(never, 'waiting for the offer reply');
    advance(100);
    await assert.rejects(bounded, { name: 'DeadlineExceeded', message: 'deadline passed while waiting for the offer reply' });
    d.clear();
  });
});
