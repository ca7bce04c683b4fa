/**
 * Ratio bounds between the pools: they hold after every plan, the lagging pool is raised rather
 * than the leading one cut, and a pool is cut only when its partner is at maxReplicas.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plan, projectToRatio } from '../src/planner/index.ts';
import { policy, run, signals } from './planner-helpers.ts';

test('the lagging pool is raised: 8 prefill wanted with 1 decode and max ratio 4 gives 8:2', () => {
  const p = policy({ prefill: { maxReplicas: 8 }, prefillToDecodeRatio: { min: 0.25, max: 4 } });
  assert.deepEqual(projectToRatio(p, { prefill: 8, decode: 1 }), { prefill: 8, decode: 2 });
  const r = plan({ policy: p, signals: signals({ prefill: { queuedPromptTokens: 8192 * 8 } }), current: { prefill: 4, decode: 1 }, nowMs: 0 });
  assert.deepEqual(r.desired, { prefill: 8, decode: 2 });
  assert.equal(r.pools.decode.reasons.at(-1)?.rule, 'ratio');
  assert.match(r.pools.decode.reasons.at(-1)!.message, /decode 1 → 2/);
});

test('min ratio raises prefill as decode grows', () => {
  const p = policy({ prefillToDecodeRatio: { min: 0.5, max: 4 } });
  const r = plan({ policy: p, signals: signals({ decode: { runningSequences: 32 * 6 } }), current: { prefill: 1, decode: 2 }, nowMs: 0 });
  assert.deepEqual(r.desired, { prefill: 3, decode: 6 });
});

test('a pool at maxReplicas caps its partner', () => {
  const p = policy({ prefill: { maxReplicas: 2 }, decode: { maxReplicas: 20 }, prefillToDecodeRatio: { min: 0.25, max: 4 } });
  // Decode wants 12, but 2 prefill allow at most 8 decode (2 / 0.25).
  const r = plan({ policy: p, signals: signals({ decode: { runningSequences: 32 * 12 } }), current: { prefill: 2, decode: 8 }, nowMs: 0 });
  assert.deepEqual(r.desired, { prefill: 2, decode: 8 });
});

test('a pool held up by the ratio does not shrink while its partner needs it', () => {
  // prefill:decode ≥ 1. Prefill has no queue and a tiny TTFT (wants 1), decode needs 5.
  const p = policy({ prefill: { scaleDown: { stabilizationWindowSeconds: 0 } }, prefillToDecodeRatio: { min: 1, max: 4 } });
  const r = plan({ policy: p, signals: signals({ prefill: { queuedPromptTokens: 0 }, decode: { runningSequences: 32 * 5 } }), current: { prefill: 5, decode: 5 }, nowMs: 0 });
  assert.deepEqual(r.desired, { prefill: 5, decode: 5 });
});

test('ratio bounds hold after every plan of a noisy, bursty run', () => {
  const p = policy({
    prefill: { maxReplicas: 12, scaleDown: { stabilizationWindowSeconds: 45, maxReplicasPerInterval: 2 } },
    decode: { maxReplicas: 10, scaleDown: { stabilizationWindowSeconds: 30 } },
    prefillToDecodeRatio: { min: 0.5, max: 2 },
  });
  // A deterministic pseudo-random walk (LCG) of both pools' signals, with bursts.
  let x = 12345;
  const rnd = (): number => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const steps = run(p, { prefill: 1, decode: 1 }, 200, () =>
    signals({
      prefill: { queuedPromptTokens: Math.floor(rnd() * 8192 * (rnd() < 0.1 ? 12 : 3)), ttftP90Ms: 500 + rnd() * 3000 },
      decode: { runningSequences: Math.floor(rnd() * 32 * (rnd() < 0.1 ? 10 : 3)), kvUtilization: rnd(), tpotP90Ms: 20 + rnd() * 150 },
    }),
  );
  const sizes = new Set<string>();
  for (const s of steps) {
    const { prefill, decode } = s.replicas;
    sizes.add(`${prefill}:${decode}`);
    assert.ok(prefill >= 0.5 * decode && prefill <= 2 * decode, `t=${s.atS}: ${prefill}:${decode}`);
    assert.ok(prefill >= 1 && prefill <= 12 && decode >= 1 && decode <= 10, `t=${s.atS}: bounds ${prefill}:${decode}`);
  }
  assert.ok(sizes.size > 5, 'the run exercised many pool sizes');
});

test('the ratio may move a pool past its step limit', () => {
  // Decode may add 1 per interval, but 12 prefill with max ratio 2 need 6 decode.
  const p = policy({ prefill: { maxReplicas: 12, scaleUp: { maxReplicasPerInterval: 8 } }, decode: { scaleUp: { maxReplicasPerInterval: 1 } }, prefillToDecodeRatio: { min: 0.5, max: 2 } });
  const r = plan({ policy: p, signals: signals({ prefill: { queuedPromptTokens: 8192 * 12 } }), current: { prefill: 4, decode: 2 }, nowMs: 0 });
  assert.deepEqual(r.desired, { prefill: 12, decode: 6 });
});
