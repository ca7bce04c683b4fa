/**
 * MoE expert state: profiles learned by prefix from PREFILL_DONE events predict a new prompt's
 * experts; in-flight profiles make a decode worker's mix; the expert-aware policy then places a
 * request with the worker already running its experts, where a load-only policy does not care.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { PlacementRequestSchema, RequestEventBatchSchema, RequestPhase, WorkerHeartbeatSchema, WorkerRole, WorkerState, createLogger } from '@duet/core';
import { ExpertLoadTracker, FleetState, InMemoryAccounting, PrefixProfiles, RequestEventHandler, WorkerRegistry, decide, histogramToVector, loadPolicy } from '../src/index.ts';

const A = [{ layer: 0, tokensPerExpert: [30, 10, 0, 0] }, { layer: 1, tokensPerExpert: [0, 20, 20, 0] }];
const B = [{ layer: 0, tokensPerExpert: [0, 0, 10, 30] }, { layer: 1, tokensPerExpert: [20, 0, 0, 20] }];
const chain = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}${i}`);

describe('expert profiles by prefix', () => {
  test('histograms normalise per layer; the longest stored prefix predicts', () => {
    const v = histogramToVector(A)!;
    assert.deepEqual([...v.values], [0.75, 0.25, 0, 0, 0, 0.5, 0.5, 0]);
    assert.equal(histogramToVector([]), null);
    const p = new PrefixProfiles(100, 4);
    p.record(chain('s', 10), v);
    assert.deepEqual(p.predict([...chain('s', 8), 'new1', 'new2']), v, 'shares 8 blocks (block 7 stored)');
    assert.equal(p.predict(chain('x', 8)), null, 'another prefix (chained hashes differ from the first block on)');
    assert.equal(p.predict(chain('s', 3)), null, 'no stored block within the first 3');
  });

  test('the table is bounded (LRU)', () => {
    const p = new PrefixProfiles(3, 1);
    p.record(['a', 'b', 'c', 'd'], histogramToVector(A)!);
    assert.equal(p.size, 3);
    assert.equal(p.predict(['a']), null, 'oldest evicted');
  });

  test('a worker mix is the sum of its in-flight profiles; finishing removes one', () => {
    const t = new ExpertLoadTracker();
    t.onPlaced('r1', 'd1', histogramToVector(A));
    t.onPlaced('r2', 'd1', histogramToVector(B));
    assert.deepEqual([...t.pressure('d1')!.values], [0.75, 0.25, 0.25, 0.75, 0.5, 0.5, 0.5, 0.5]);
    t.onFinished('r2');
    assert.deepEqual([...t.mix('d1')!.values], [...histogramToVector(A)!.values]);
    t.onFinished('r1');
    assert.equal(t.pressure('d1'), null);
  });
});

describe('expert-aware placement from request events', () => {
  const beat = (id: string, role: WorkerRole) =>
    create(WorkerHeartbeatSchema, { worker: { workerId: id, role, model: 'm', capacity: { kvBlocksTotal: 1000, blockSize: 16, maxRunningSeqs: 16 } }, seq: 1n, state: WorkerState.READY, intervalMs: 1000 });

  async function setup() {
    const registry = new WorkerRegistry(10, () => 0);
    ['d1', 'd2'].forEach((id) => registry.observe(beat(id, WorkerRole.DECODE)));
    registry.observe(beat('p1', WorkerRole.PREFILL));
    const fleet = new FleetState(registry, () => 0);
    const accounting = new InMemoryAccounting();
    const events = new RequestEventHandler(fleet, accounting, createLogger('t', { level: 'silent' }));
    // Two earlier prompts, one per domain, prefilled on p1: their profiles are learned by prefix.
    await events.apply(create(RequestEventBatchSchema, { workerId: 'p1', events: [
      { requestId: 'a0', workerId: 'p1', phase: RequestPhase.PREFILL_DONE, promptTokens: 64, generatedTokens: 0, expertHistogram: A, blockHashes: chain('sysA', 4), sentAtUnixMs: 0n },
      { requestId: 'b0', workerId: 'p1', phase: RequestPhase.PREFILL_DONE, promptTokens: 64, generatedTokens: 0, expertHistogram: B, blockHashes: chain('sysB', 4), sentAtUnixMs: 0n },
    ] }));
    // d1 runs two domain-A requests, d2 two domain-B ones (equal load).
    for (const [id, w, h] of [['a1', 'd1', A], ['a2', 'd1', A], ['b1', 'd2', B], ['b2', 'd2', B]] as const) {
      await accounting.reserve({ requestId: id, prefillTokens: 0, decodeWorkerId: w, decodeBlocks: 5 });
      fleet.experts.onPlaced(id, w, histogramToVector(h));
    }
    return { fleet, accounting, events };
  }

  const request = (hashes: string[]) => create(PlacementRequestSchema, { requestId: 'new', model: 'm', blockHashes: hashes, promptTokens: hashes.length * 16, maxTokens: 16 });

  test('a prompt sharing domain B\'s system prompt goes to the worker running B; load-only ties', async () => {
    const { fleet, accounting } = await setup();
    const view = await accounting.read();
    const expert = decide(loadPolicy('prefix-load-expert'), request([...chain('sysB', 4), 'q1']), fleet.routingState(view.loads));
    assert.equal(expert.response.result?.case === 'placed' && expert.response.result.value.decodeWorkerId, 'd2');
    const expertA = decide(loadPolicy('prefix-load-expert'), request([...chain('sysA', 4), 'q2']), fleet.routingState(view.loads));
    assert.equal(expertA.response.result?.case === 'placed' && expertA.response.result.value.decodeWorkerId, 'd1');
    const loadOnly = decide(loadPolicy('least-load'), request([...chain('sysB', 4), 'q1']), fleet.routingState(view.loads));
    const scores = loadOnly.decode!.scored.map((s) => s.total);
    assert.equal(scores[0], scores[1], 'load-only scores cannot tell the workers apart');
  });

  test('FINISHED releases the accounting and the in-flight profile', async () => {
    const { fleet, accounting, events } = await setup();
    await events.apply(create(RequestEventBatchSchema, { workerId: 'd2', events: [{ requestId: 'b1', workerId: 'd2', phase: RequestPhase.FINISHED }, { requestId: 'b2', workerId: 'd2', phase: RequestPhase.FINISHED }] }));
    assert.equal((await accounting.read()).loads.get('d2')?.decodeBlocks ?? 0, 0);
    assert.equal(fleet.experts.pressure('d2'), null);
    assert.equal(events.counts.finished, 2);
  });
});
