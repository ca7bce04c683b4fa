/**
 * WorkQueue semantics with a manual clock: dedupe, per-key serialisation, delayed adds (earliest
 * wins), exponential backoff capped and reset by forget, and processQueue's retry on error.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../src/kube/clock.ts';
import { WorkQueue, processQueue } from '../src/kube/workqueue.ts';

const drain = async (q: WorkQueue): Promise<string[]> => {
  const out: string[] = [];
  while (q.length > 0) {
    const k = (await q.get())!;
    out.push(k);
    q.done(k);
  }
  return out;
};

describe('WorkQueue', () => {
  test('a key added many times before it is taken is processed once, in first-add order', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    ['ns/a', 'ns/b', 'ns/a', 'ns/a', 'ns/c', 'ns/b'].forEach((k) => q.add(k));
    assert.deepEqual(await drain(q), ['ns/a', 'ns/b', 'ns/c']);
  });

  test('a key is never handed out twice at once; re-added while processing it comes back after done', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    q.add('ns/a');
    const first = await q.get();
    q.add('ns/a'); // dirty while processing
    q.add('ns/b');
    assert.equal(await q.get(), 'ns/b', 'ns/a is held back while its worker runs');
    assert.equal(q.length, 0);
    q.done(first!);
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'ns/a');
  });

  test('a waiting get receives a key added later', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    const pending = q.get();
    q.add('ns/x');
    assert.equal(await pending, 'ns/x');
    q.shutDown();
    assert.equal(await q.get(), undefined);
  });

  test('addAfter fires at the earliest requested time; rate-limited delays double up to the cap and forget resets them', () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock, baseDelayMs: 100, maxDelayMs: 500 });
    q.addAfter('ns/a', 1000);
    q.addAfter('ns/a', 300); // sooner wins
    q.addAfter('ns/a', 2000); // later is ignored
    clock.advance(299);
    assert.equal(q.length, 0);
    clock.advance(1);
    assert.equal(q.length, 1);
    // Backoff: 100, 200, 400, 500 (cap), 500.
    assert.deepEqual([1, 2, 3, 4, 5].map(() => q.addRateLimited('ns/b')), [100, 200, 400, 500, 500]);
    assert.equal(q.numRequeues('ns/b'), 5);
    q.forget('ns/b');
    assert.equal(q.addRateLimited('ns/b'), 100);
  });

  test('processQueue retries a failing key with backoff and clears it after a success', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock, baseDelayMs: 100 });
    const attempts: number[] = [];
    const retries: number[] = [];
    let fail = 2;
    const running = processQueue(
      q,
      (key) => {
        attempts.push(clock.now());
        return fail-- > 0 ? Promise.reject(new Error(`boom ${key}`)) : Promise.resolve();
      },
      { concurrency: 2, onError: (_k, _e, retryInMs) => retries.push(retryInMs) },
    );
    q.add('ns/a');
    const settle = () => new Promise((r) => setImmediate(r));
    await settle();
    clock.advance(100);
    await settle();
    clock.advance(200);
    await settle();
    // Tries at t=0 (fail), t=100 (fail), t=300 (ok).
    assert.deepEqual(attempts, [0, 100, 300]);
    assert.deepEqual(retries, [100, 200]);
    assert.equal(q.numRequeues('ns/a'), 0);
    q.shutDown();
    await running;
  });
});
