/**
 * SloReporter with a fake clock: TTFT from begin to the first token, TPOT over the tokens after it,
 * nearest-rank p90, queued vs in-flight counts, failed requests left out of latencies, and each
 * report covering only its own window.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SloReporter, percentile, type BackendEvent } from '../src/index.ts';

const tok = (n: number): BackendEvent => ({ type: 'tokens', tokens: Array.from({ length: n }, (_, i) => ({ id: i, logprob: null, top: null })) });
const done: BackendEvent = { type: 'done', finishReason: 'length', usage: { promptTokens: 3, completionTokens: 3, cachedTokens: 0 } };

function clock(): { now: () => number; at: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, at: (ms) => void (t = 1_000_000 + ms) };
}

test('nearest-rank percentile', () => {
  assert.equal(percentile([], 0.9), 0);
  assert.equal(percentile([5], 0.9), 5);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), 9);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0.9), 10);
});

test('TTFT and TPOT of one request; queued until placed, in flight until it ends', () => {
  const c = clock();
  const r = new SloReporter({ gatewayId: 'gw-1', intervalMs: 5000, now: c.now });
  const t = r.begin(); // t=0
  assert.deepEqual([r.report().queuedRequests, r.report().inflightRequests], [1, 0]);
  c.at(20);
  t.placed();
  assert.deepEqual([r.report().queuedRequests, r.report().inflightRequests], [0, 1]);
  c.at(300);
  t.observe(tok(1)); // first token at 300 ms
  c.at(400);
  t.observe(tok(2)); // tokens 2 and 3 at 400 ms
  c.at(500);
  t.observe(tok(1)); // token 4 at 500 ms
  t.observe(done);
  t.end();
  t.end(); // a second end is ignored
  c.at(5000);
  const rep = r.report();
  assert.equal(rep.sourceId, 'gw-1');
  assert.equal(rep.finishedRequests, 1);
  assert.equal(rep.ttftP90Ms, 300);
  assert.equal(rep.ttftMeanMs, 300);
  // (500 − 300) / (4 − 1) ms per output token after the first.
  assert.ok(Math.abs((rep.tpotP90Ms ?? 0) - 200 / 3) < 1e-9);
  assert.deepEqual([rep.queuedRequests, rep.inflightRequests], [0, 0]);
});

test('p90 over a window of ten requests; a one-token request has a TTFT but no TPOT', () => {
  const c = clock();
  const r = new SloReporter({ gatewayId: 'gw', intervalMs: 1000, now: c.now });
  for (let i = 1; i <= 10; i++) {
    c.at(0);
    const t = r.begin();
    t.placed();
    c.at(i * 100);
    t.observe(tok(1));
    if (i > 1) {
      c.at(i * 100 + 10 * i);
      t.observe(tok(1)); // TPOT = 10 i ms
    }
    t.observe(done);
    t.end();
  }
  const rep = r.report();
  assert.equal(rep.finishedRequests, 10);
  assert.equal(rep.ttftP90Ms, 900);
  assert.equal(rep.ttftMeanMs, 550);
  // TPOTs 20 … 100 (nine requests): nearest-rank p90 = the 9th = 100.
  assert.equal(rep.tpotP90Ms, 100);
  assert.equal(rep.tpotMeanMs, 60);
});

test('failed or cancelled requests count while in flight but not in latencies; windows do not overlap', () => {
  const c = clock();
  const r = new SloReporter({ gatewayId: 'gw', intervalMs: 1000, now: c.now });
  const failed = r.begin();
  failed.placed();
  c.at(50);
  failed.observe(tok(1));
  failed.observe({ type: 'error', error: new Error('worker lost') });
  failed.end();
  const neverPlaced = r.begin();
  neverPlaced.end(); // e.g. NoCapacity
  c.at(1000);
  const first = r.report();
  assert.deepEqual([first.finishedRequests, first.ttftP90Ms, first.queuedRequests, first.inflightRequests, first.windowMs], [0, 0, 0, 0, 1000]);
  const ok = r.begin();
  ok.placed();
  c.at(1100);
  ok.observe(tok(1));
  ok.observe(done);
  ok.end();
  c.at(1500);
  const second = r.report();
  assert.deepEqual([second.finishedRequests, second.ttftP90Ms, second.windowMs], [1, 100, 500]);
  assert.equal(second.seq, first.seq! + 1n);
  assert.equal(r.report().finishedRequests, 0, 'a report empties its window');
});
