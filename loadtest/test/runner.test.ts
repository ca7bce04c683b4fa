/**
 * The runner on virtual time: open loop sends on schedule regardless of what is in flight, closed
 * loop never exceeds its concurrency, a session's turn waits for the previous turn plus think time,
 * and a duration stops new requests.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runRequests, VirtualClock, type RequestTiming, type SendFn, type WorkloadRequest } from '../src/index.ts';

/** A server that takes `serviceMs` per request and streams `maxTokens` tokens evenly over it. */
function fakeSend(clock: VirtualClock, serviceMs: number, log: { inFlight: number; peak: number }): SendFn {
  return async (req, ctx): Promise<RequestTiming> => {
    const startMs = ctx.now();
    log.inFlight++;
    log.peak = Math.max(log.peak, log.inFlight);
    await clock.sleep(serviceMs);
    log.inFlight--;
    const endMs = ctx.now();
    const tokenTimesMs = Array.from({ length: req.maxTokens }, (_, i) => startMs + ((i + 1) * serviceMs) / req.maxTokens);
    return { id: req.id, startMs, firstTokenMs: tokenTimesMs[0], tokenTimesMs, endMs, promptTokens: req.promptIds.length, outputTokens: req.maxTokens, cachedTokens: 0, error: null };
  };
}

const reqs = (arrivals: number[]): WorkloadRequest[] => arrivals.map((a, i) => ({ id: `r${i}`, arrivalMs: a, promptIds: [300], maxTokens: 2 }));

describe('runner', () => {
  test('open loop: each request starts at its arrival, however many are in flight', async () => {
    const clock = new VirtualClock();
    const log = { inFlight: 0, peak: 0 };
    const t = await clock.run(runRequests({ requests: reqs([0, 10, 20, 30]), concurrency: null, send: fakeSend(clock, 100, log), clock }));
    assert.deepEqual(t.map((x) => x.startMs), [0, 10, 20, 30]);
    assert.deepEqual(t.map((x) => x.endMs), [100, 110, 120, 130]);
    assert.equal(log.peak, 4);
  });

  test('closed loop: at most C in flight; the next starts when one ends', async () => {
    const clock = new VirtualClock();
    const log = { inFlight: 0, peak: 0 };
    const t = await clock.run(runRequests({ requests: reqs([0, 0, 0, 0, 0]), concurrency: 2, send: fakeSend(clock, 100, log), clock }));
    assert.equal(log.peak, 2);
    assert.deepEqual(t.map((x) => x.startMs), [0, 0, 100, 100, 200]);
  });

  test('a session turn waits for the previous turn\'s end plus think time', async () => {
    const clock = new VirtualClock();
    const log = { inFlight: 0, peak: 0 };
    const turns: WorkloadRequest[] = [0, 1, 2].map((turn) => ({ id: `t${turn}`, arrivalMs: 0, promptIds: [300], maxTokens: 1, session: { id: 's', turn, thinkMs: 25 } }));
    const other: WorkloadRequest = { id: 'other', arrivalMs: 0, promptIds: [300], maxTokens: 1 };
    const t = await clock.run(runRequests({ requests: [turns[0], turns[1], other, turns[2]], concurrency: null, send: fakeSend(clock, 100, log), clock }));
    const start = Object.fromEntries(t.map((x) => [x.id, x.startMs]));
    // t0 0–100, t1 125–225, t2 250–350; the session-less request is not held back
    assert.deepEqual(start, { t0: 0, other: 0, t1: 125, t2: 250 });
  });

  test('closed loop with sessions holds the slot until the previous turn ended', async () => {
    const clock = new VirtualClock();
    const log = { inFlight: 0, peak: 0 };
    const turns: WorkloadRequest[] = [0, 1].map((turn) => ({ id: `t${turn}`, arrivalMs: 0, promptIds: [300], maxTokens: 1, session: { id: 's', turn, thinkMs: 0 } }));
    const t = await clock.run(runRequests({ requests: turns, concurrency: 2, send: fakeSend(clock, 100, log), clock }));
    assert.deepEqual(t.map((x) => x.startMs), [0, 100]);
    assert.equal(log.peak, 1);
  });

  test('no request starts after the duration; those in flight finish', async () => {
    const clock = new VirtualClock();
    const log = { inFlight: 0, peak: 0 };
    const t = await clock.run(runRequests({ requests: reqs([0, 50, 150, 200]), concurrency: null, send: fakeSend(clock, 100, log), clock, durationMs: 100 }));
    assert.deepEqual(t.map((x) => [x.id, x.endMs]), [['r0', 100], ['r1', 150]]);
  });

  test('an abort stops new requests', async () => {
    const clock = new VirtualClock();
    const log = { inFlight: 0, peak: 0 };
    const ctrl = new AbortController();
    const send = fakeSend(clock, 10, log);
    const t = await clock.run(runRequests({ requests: reqs([0, 10, 20, 30]), concurrency: 1, send: async (r, ctx) => {
      const out = await send(r, ctx);
      if (r.id === 'r1') ctrl.abort();
      return out;
    }, clock, signal: ctrl.signal }));
    assert.deepEqual(t.map((x) => x.id), ['r0', 'r1']);
  });
});
