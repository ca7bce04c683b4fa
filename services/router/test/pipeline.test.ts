/**
 * Whole decisions through compiled policies: decode first, conditional disaggregation, the prefill
 * stage, reservations, typed NoCapacity, and the score breakdown of the decision log.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerRole } from '@duet/core';
import { compilePolicy, PolicyError } from '../src/policy/compile.ts';
import { BUILTIN_POLICIES, loadPolicy, parsePolicyText } from '../src/policy/load.ts';
import { decide, describeDecision } from '../src/pipeline/decide.ts';
import { request, stateOf, workers } from './support/state.ts';

const doc = (spec: Record<string, unknown>) => ({ apiVersion: 'duet.dev/v1alpha1', kind: 'RoutingPolicy', metadata: { name: 't' }, spec });
const placed = (d: ReturnType<typeof decide>) => {
  const r = d.response.result;
  assert.equal(r?.case, 'placed', JSON.stringify(r));
  return r.value as { prefillWorkerId?: string; decodeWorkerId: string; reason: string; expectedCachedTokens: number };
};

const fleet = () => workers({ id: 'd1' }, { id: 'd2' }, { id: 'p1', role: WorkerRole.PREFILL }, { id: 'p2', role: WorkerRole.PREFILL });

describe('decide', () => {
  test('prefix-load: prefill and decode follow the cached prefix; reservation counts only what is missing', () => {
    const policy = loadPolicy('prefix-load');
    const state = stateOf({ workers: fleet(), prefix: { d2: 3, p2: 4 } });
    const d = decide(policy, request({ blocks: 4, maxTokens: 16 }), state);
    const v = placed(d);
    assert.equal(v.decodeWorkerId, 'd2');
    assert.equal(v.prefillWorkerId, 'p2');
    assert.equal(v.expectedCachedTokens, 48);
    // prompt 64 tokens, p2 holds all 4 blocks → 0 to prefill; decode needs ceil(80/16)=5 − 3 held = 2 blocks.
    assert.deepEqual(d.reservation, { requestId: 'r1', prefillWorkerId: 'p2', prefillTokens: 0, decodeWorkerId: 'd2', decodeBlocks: 2 });
  });

  test('the load gate moves prefill off a cached worker once it is far busier', () => {
    const policy = loadPolicy('prefix-load');
    const calm = decide(policy, request(), stateOf({ workers: fleet(), prefix: { p1: 4 }, loads: { p1: { prefillTokens: 2048 } } }));
    assert.equal(placed(calm).prefillWorkerId, 'p1'); // (2·1 + 0.5)/3 = 0.83 > (0 + 1)/3
    const swamped = decide(policy, request(), stateOf({ workers: fleet(), prefix: { p1: 1 }, loads: { p1: { prefillTokens: 40000 } } }));
    assert.equal(placed(swamped).prefillWorkerId, 'p2'); // (2·0.25 + 0.05)/3 = 0.18 < 0.33
  });

  test('conditional disaggregation: a small uncached part is prefilled on the decode worker', () => {
    const policy = compilePolicy(doc({ decode: { scorers: [{ type: 'prefix-affinity' }] }, disaggregation: { mode: 'auto', localPrefillThresholdTokens: 32 } }));
    const cached = decide(policy, request({ blocks: 4 }), stateOf({ workers: fleet(), prefix: { d1: 3 } }));
    const v = placed(cached);
    assert.equal(v.decodeWorkerId, 'd1');
    assert.equal(v.prefillWorkerId, undefined);
    assert.match(v.reason, /local prefill: 16 uncached tokens < 32/);
    assert.deepEqual(cached.reservation, { requestId: 'r1', prefillWorkerId: 'd1', prefillTokens: 16, decodeWorkerId: 'd1', decodeBlocks: 2 });
    const cold = decide(policy, request({ blocks: 4 }), stateOf({ workers: fleet() }));
    assert.ok(placed(cold).prefillWorkerId);
  });

  test('never → aggregated; no prefill worker → local prefill', () => {
    const never = compilePolicy(doc({ disaggregation: { mode: 'never' } }));
    assert.equal(placed(decide(never, request(), stateOf({ workers: fleet() }))).prefillWorkerId, undefined);
    const always = compilePolicy(doc({ disaggregation: { mode: 'always' } }));
    const v = placed(decide(always, request(), stateOf({ workers: workers({ id: 'd1' }) })));
    assert.equal(v.prefillWorkerId, undefined);
    assert.match(v.reason, /no prefill worker/);
  });

  test('no decode worker, or none passing the filters, is a typed NoCapacity naming why', () => {
    const policy = loadPolicy('prefix-load');
    const empty = decide(policy, request(), stateOf({ workers: workers({ id: 'p1', role: WorkerRole.PREFILL }) }));
    assert.equal(empty.response.result?.case, 'noCapacity');
    assert.match(String(empty.response.result?.value && 'reason' in empty.response.result.value ? empty.response.result.value.reason : ''), /no live decode worker for model m/);
    const full = decide(policy, request(), stateOf({ workers: workers({ id: 'd1', kvBlocksTotal: 4 }) }));
    assert.equal(full.response.result?.case, 'noCapacity');
    assert.match(JSON.stringify(full.response.result?.value), /kv-capacity removed d1/);
    assert.equal(full.reservation, null);
  });

  test('the decision log lists every candidate with its score breakdown', () => {
    const d = decide(loadPolicy('prefix-load'), request(), stateOf({ workers: fleet(), prefix: { d2: 4 } }));
    const log = describeDecision(d) as { decode: { chosen: string; candidates: Array<Record<string, number | string>> } };
    assert.equal(log.decode.chosen, 'd2');
    assert.deepEqual(log.decode.candidates.map((c) => [c.worker, c['prefix-affinity'], c['decode-load']]), [['d1', 0, 1], ['d2', 1, 1]]);
  });
});

describe('policies', () => {
  for (const name of BUILTIN_POLICIES) test(`built-in ${name} compiles`, () => assert.equal(loadPolicy(name).name, name));

  test('errors name the config path of the bad value', () => {
    const bad = (spec: Record<string, unknown>) => assert.throws(() => compilePolicy(doc(spec)), PolicyError);
    bad({ decode: { scorers: [{ type: 'no-such' }] } });
    assert.throws(() => compilePolicy(doc({ decode: { scorers: [{ type: 'prefill-load' }, { type: 'prefill-load', parameters: { scaleTokens: -1 } }] } })), /spec\.decode\.scorers\[1\]\.parameters\.scaleTokens/);
    assert.throws(() => compilePolicy(doc({ prefill: { picker: { type: 'max-score', parameters: { epsilonn: 1 } } } })), /spec\.prefill\.picker\.parameters/);
    assert.throws(() => compilePolicy(doc({ disaggregation: { mode: 'sometimes' } })), /spec\.disaggregation\.mode/);
    assert.throws(() => parsePolicyText('kind: [', 'p.yaml'), /p\.yaml: not valid YAML/);
    assert.throws(() => loadPolicy('/no/such/file.yaml'), /no such policy file/);
  });

  test('producers a scorer or picker needs are added once, after explicit ones', () => {
    const p = compilePolicy(doc({ decode: { scorers: [{ type: 'prefix-affinity' }, { type: 'kv-capacity' }, { type: 'expert-affinity' }], picker: { type: 'lowest-cost' } } }));
    assert.deepEqual(p.decode.producers.map((x) => x.type), ['prefix-match', 'expert-profile']);
  });
});
