/**
 * The planner over time, with fake time (one plan per 15 s interval, applied at once): bursts,
 * ramps, flapping input and the scale-down window. Expected replica series are written out in full.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policy, run, series, signals } from './planner-helpers.ts';

const TOKENS = 8192; // default queuedPromptTokensPerReplica
const SEQS = 32; // default runningSequencesPerReplica

test('burst: prefill grows within one interval, by at most the step limit per interval', () => {
  const p = policy({ prefill: { maxReplicas: 10 } });
  // Quiet until t=30 s, then 80 000 queued prompt tokens (10 replicas' worth) for good.
  const steps = run(p, { prefill: 1, decode: 4 }, 6, (t) => signals({ prefill: { queuedPromptTokens: t < 30 ? 0 : 10 * TOKENS } }));
  //                                  t=0 15 30 45  60  75
  assert.deepEqual(series(steps, 'prefill'), [1, 1, 5, 9, 10, 10]);
  assert.equal(steps[2].plan.pools.prefill.recommended, 10, 'the first plan after the burst already asks for 10');
});

test('burst then quiet: decode shrinks only after the 300 s window, one replica per interval', () => {
  const p = policy();
  // 6 replicas' worth of sequences until t=60 s, then none.
  const steps = run(p, { prefill: 2, decode: 2 }, 30, (t) => signals({ decode: { runningSequences: t < 60 ? 6 * SEQS : 0 } }));
  const d = series(steps, 'decode');
  assert.deepEqual(d.slice(0, 4), [6, 6, 6, 6], 'up in the first interval');
  // The first low recommendation is at t=60 s; the window holds a high one until t=60+300.
  const firstDrop = steps.findIndex((s) => s.replicas.decode < 6);
  assert.equal(steps[firstDrop].atS, 360);
  //                  t=345 360 375 390 405 420 435
  assert.deepEqual(d.slice(23, 30), [6, 5, 4, 3, 2, 1, 1]);
  assert.equal(steps[firstDrop - 1].plan.pools.decode.reasons.at(-1)?.rule, 'scale-down-stabilized');
});

test('ramp: decode follows a rising load without ever stepping back', () => {
  const p = policy({ decode: { maxReplicas: 20 }, prefillToDecodeRatio: { min: 0 } });
  // +16 sequences every interval: the target count rises by half a replica per interval.
  const steps = run(p, { prefill: 1, decode: 1 }, 45, (t) => signals({ decode: { runningSequences: (t / 15) * 16 } }));
  const d = series(steps, 'decode');
  for (let i = 1; i < d.length; i++) assert.ok(d[i] >= d[i - 1], `monotone at ${i}: ${d.join(',')}`);
  // At t = 15 i the load is 16 i sequences. After each plan the pool is never more than the 10%
  // tolerance over 32 per replica (unless at maxReplicas), and never larger than ceil(load / 32).
  for (const [i, s] of steps.entries()) {
    const load = 16 * i;
    const n = s.replicas.decode;
    assert.ok(n === 20 || load / n <= SEQS * 1.1, `t=${s.atS}: ${load} sequences on ${n} replicas`);
    assert.ok(n <= Math.max(1, Math.ceil(load / SEQS)), `t=${s.atS}: ${n} replicas for ${load} sequences`);
  }
  assert.equal(d.at(-1), 20, 'reaches maxReplicas and stays');
});

test('flapping: load alternating high/low every interval never shrinks the pool (no flapping)', () => {
  const p = policy();
  const steps = run(p, { prefill: 1, decode: 1 }, 60, (t) => signals({ decode: { runningSequences: (t / 15) % 2 === 0 ? 4 * SEQS : 0 } }));
  const d = series(steps, 'decode');
  assert.deepEqual(new Set(d), new Set([4]), `scaled once and held: ${d.join(',')}`);
  const changes = d.filter((x, i) => i > 0 && x !== d[i - 1]).length;
  assert.equal(changes, 0);
});

test('flapping with a zero down window does flap: the window is what prevents it', () => {
  const p = policy({ decode: { scaleDown: { stabilizationWindowSeconds: 0, maxReplicasPerInterval: 8 } } });
  const steps = run(p, { prefill: 1, decode: 1 }, 6, (t) => signals({ decode: { runningSequences: (t / 15) % 2 === 0 ? 4 * SEQS : 0 } }));
  assert.deepEqual(series(steps, 'decode'), [4, 1, 4, 1, 4, 1]);
});

test('a scale-up window waits for the lowest recommendation in it', () => {
  const p = policy({ prefill: { scaleUp: { stabilizationWindowSeconds: 30 } } });
  const steps = run(p, { prefill: 1, decode: 4 }, 5, (t) => signals({ prefill: { queuedPromptTokens: t < 15 ? 0 : 3 * TOKENS } }));
  // The burst starts at t=15; the window (t−30, t] still holds the quiet t=0 until t=30 is past … inclusive: t=45.
  assert.deepEqual(series(steps, 'prefill'), [1, 1, 1, 3, 3]);
  assert.equal(steps[1].plan.pools.prefill.reasons.at(-1)?.rule, 'scale-up-stabilized');
});

test('a short spike during a quiet period restarts the scale-down window', () => {
  const p = policy({ decode: { scaleDown: { stabilizationWindowSeconds: 60 } } });
  // 4 replicas' worth until t=15, quiet, one spike at t=60, quiet again.
  const load = (t: number): number => (t <= 15 || t === 60 ? 4 * SEQS : 0);
  const steps = run(p, { prefill: 1, decode: 1 }, 14, (t) => signals({ decode: { runningSequences: load(t) } }));
  // Without the spike the shrink would start at t=90; the spike's recommendation stays in the
  // window [t−60, t] until t=120, so the first shrink is at t=135.
  //                                   t=0 15 30 45 60 75 90 105 120 135 150 165 180 195
  assert.deepEqual(series(steps, 'decode'), [4, 4, 4, 4, 4, 4, 4, 4, 4, 3, 2, 1, 1, 1]);
});
