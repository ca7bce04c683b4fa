/**
 * Step 1 and single plans: which signal drives which pool, the formulas, tolerance, missing data,
 * min/max bounds, step limits, determinism. Scenarios over time are in planner-scenarios.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialPlannerState, noSignals, plan, type PlannerSignals, type PoolReplicas } from '../src/planner/index.ts';
import { policy, signals } from './planner-helpers.ts';

const P = policy({ prefill: { maxReplicas: 16 }, decode: { maxReplicas: 16 }, prefillToDecodeRatio: { min: 0, max: 16 } });
const once = (s: PlannerSignals, current: PoolReplicas, p = P) => plan({ policy: p, signals: s, current, nowMs: 0 });

test('prefill scales on queued prompt tokens: ceil(total / queuedPromptTokensPerReplica)', () => {
  // 8192 per replica: 40 000 queued tokens need ceil(4.88) = 5 replicas.
  const r = once(signals({ prefill: { queuedPromptTokens: 40_000 } }), { prefill: 2, decode: 2 });
  assert.equal(r.pools.prefill.recommended, 5);
  assert.equal(r.desired.prefill, 5);
  assert.equal(r.desired.decode, 2, 'decode has no signal: held');
  assert.match(r.pools.prefill.reasons[0].message, /queued-prompt-tokens 40000 vs target 8192 → 5/);
});

test('prefill scales on TTFT p90: ceil(current × observed / target)', () => {
  // 2 replicas at 5 s against a 2 s target: ceil(2 × 2.5) = 5.
  const r = once(signals({ prefill: { ttftP90Ms: 5000 } }), { prefill: 2, decode: 2 });
  assert.equal(r.desired.prefill, 5);
  assert.equal(r.pools.prefill.reasons[0].rule, 'ttft-p90');
});

test('prefill takes the largest of its rules', () => {
  const r = once(signals({ prefill: { queuedPromptTokens: 8192 * 3, ttftP90Ms: 5000 } }), { prefill: 2, decode: 2 });
  assert.deepEqual(r.pools.prefill.reasons.map((x) => x.rule), ['queued-prompt-tokens', 'ttft-p90']);
  assert.equal(r.desired.prefill, 5, 'max(3, 5)');
});

test('decode scales on KV utilisation, running sequences and TPOT p90, taking the largest', () => {
  const current = { prefill: 4, decode: 4 };
  // KV 0.96 vs 0.8 over 4 replicas → ceil(4.8) = 5.
  assert.equal(once(signals({ decode: { kvUtilization: 0.96 } }), current).desired.decode, 5);
  // 200 sequences at 32 per replica → ceil(6.25) = 7.
  assert.equal(once(signals({ decode: { runningSequences: 200 } }), current).desired.decode, 7);
  // TPOT 300 ms vs 100 ms over 4 replicas → 12.
  assert.equal(once(signals({ decode: { tpotP90Ms: 300 } }), current).desired.decode, 8, 'step limit +4 per interval');
  const all = once(signals({ decode: { kvUtilization: 0.96, runningSequences: 200, tpotP90Ms: 150 } }), current);
  assert.equal(all.pools.decode.recommended, 7, 'max(5, 7, 6)');
  assert.deepEqual(all.pools.decode.reasons.map((x) => x.rule), ['kv-utilization', 'running-sequences', 'tpot-p90']);
});

test('prefill signals never move decode and decode signals never move prefill', () => {
  const r = once(signals({ prefill: { queuedPromptTokens: 0, ttftP90Ms: 10 } }), { prefill: 3, decode: 3 }, policy({ prefill: { scaleDown: { stabilizationWindowSeconds: 0 } } }));
  assert.equal(r.desired.decode, 3);
  assert.equal(r.desired.prefill, 2, 'prefill shrinks by its step limit');
  const d = once(signals({ decode: { runningSequences: 32 * 6 } }), { prefill: 3, decode: 3 });
  assert.equal(d.desired.prefill, 3);
  assert.equal(d.desired.decode, 6);
});

test('within tolerance (10%) nothing changes; just outside it does', () => {
  const current = { prefill: 4, decode: 4 };
  // 4 replicas × 32 = 128 sequences is the target; 140 is 9.4% over.
  assert.equal(once(signals({ decode: { runningSequences: 140 } }), current).desired.decode, 4);
  assert.equal(once(signals({ decode: { runningSequences: 142 } }), current).desired.decode, 5);
  assert.equal(once(signals({ decode: { kvUtilization: 0.85 } }), current).desired.decode, 4);
  assert.equal(once(signals({ prefill: { ttftP90Ms: 2150 } }), current).desired.prefill, 4);
});

test('no signal at all: every pool holds where it is', () => {
  const r = once(noSignals(), { prefill: 3, decode: 5 });
  assert.deepEqual(r.desired, { prefill: 3, decode: 5 });
  assert.equal(r.pools.prefill.reasons[0].rule, 'no-signals');
  assert.equal(r.pools.decode.reasons[0].rule, 'no-signals');
});

test('an empty prefill pool over its TTFT target recommends 1; queued tokens size it directly', () => {
  const p = policy({ prefill: { minReplicas: 0 } });
  assert.equal(once(signals({ prefill: { ttftP90Ms: 9000 } }), { prefill: 0, decode: 2 }, p).desired.prefill, 1);
  assert.equal(once(signals({ prefill: { queuedPromptTokens: 8192 * 3 } }), { prefill: 0, decode: 2 }, p).desired.prefill, 3);
});

test('min and max bounds hold, and win over step limits', () => {
  const p = policy({ decode: { minReplicas: 2, maxReplicas: 6, scaleDown: { stabilizationWindowSeconds: 0, maxReplicasPerInterval: 10 } } });
  assert.equal(once(signals({ decode: { runningSequences: 10_000 } }), { prefill: 1, decode: 4 }, p).desired.decode, 6);
  const down = once(signals({ decode: { runningSequences: 0 } }), { prefill: 1, decode: 5 }, p);
  assert.equal(down.desired.decode, 2);
  assert.ok(down.pools.decode.reasons.some((r) => r.rule === 'min-replicas'));
  // Current below the (raised) minimum: jump to it even past the step limit of 1.
  const raised = once(noSignals(), { prefill: 1, decode: 1 }, policy({ decode: { minReplicas: 4, scaleUp: { maxReplicasPerInterval: 1 } } }));
  assert.equal(raised.desired.decode, 4);
});

test('step limits: at most scaleUp.maxReplicasPerInterval added and scaleDown.maxReplicasPerInterval removed per plan', () => {
  const p = policy({ prefill: { maxReplicas: 16, scaleUp: { maxReplicasPerInterval: 2 }, scaleDown: { stabilizationWindowSeconds: 0, maxReplicasPerInterval: 3 } }, prefillToDecodeRatio: { max: 16 } });
  const up = once(signals({ prefill: { queuedPromptTokens: 8192 * 10 } }), { prefill: 1, decode: 1 }, p);
  assert.equal(up.desired.prefill, 3);
  assert.ok(up.pools.prefill.reasons.some((r) => r.rule === 'step-limit'));
  assert.equal(once(signals({ prefill: { queuedPromptTokens: 0 } }), { prefill: 10, decode: 1 }, p).desired.prefill, 7);
});

test('deterministic and pure: same inputs give the same plan; the input state is not modified', () => {
  const state = initialPlannerState();
  const input = { policy: P, signals: signals({ decode: { runningSequences: 90 } }), current: { prefill: 1, decode: 1 }, nowMs: 1000, state };
  const a = plan(input);
  const b = plan(structuredClone(input));
  assert.deepEqual(a, b);
  assert.deepEqual(state, initialPlannerState());
});

test('bad inputs fail loudly', () => {
  assert.throws(() => once(noSignals(), { prefill: -1, decode: 1 }), /current\.prefill must be a non-negative integer/);
  assert.throws(() => plan({ policy: P, signals: noSignals(), current: { prefill: 1, decode: 1 }, nowMs: NaN }), /nowMs/);
});
