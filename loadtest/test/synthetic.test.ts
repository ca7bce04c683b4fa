/** Synthetic workloads: shared-prefix groups, multi-turn sessions, and the MoE domain mix. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { domainOfToken } from '@duet/engine';
import { buildWorkload, moeDomainWorkload, multiTurnWorkload, parseDomainMix, prefixReuseBound, sharedPrefixWorkload, tokenRangeForVocab } from '../src/index.ts';

const range = tokenRangeForVocab(1024);

describe('shared-prefix', () => {
  const w = sharedPrefixWorkload({ groups: 3, questionsPerGroup: 4, systemTokens: 64, questionTokens: 16, maxTokens: 8, range, seed: 1 });

  test('N × M requests; a group shares exactly its system prompt', () => {
    assert.equal(w.requests.length, 12);
    const byGroup = new Map<string, typeof w.requests>();
    for (const r of w.requests) byGroup.set(r.prefixGroup!, [...(byGroup.get(r.prefixGroup!) ?? []), r]);
    assert.equal(byGroup.size, 3);
    for (const reqs of byGroup.values()) {
      assert.equal(reqs.length, 4);
      for (const r of reqs) assert.deepEqual(r.promptIds.slice(0, 64), reqs[0].promptIds.slice(0, 64));
    }
    const [a, b] = [...byGroup.values()];
    assert.notDeepEqual(a[0].promptIds.slice(0, 16), b[0].promptIds.slice(0, 16));
  });

  test('upper bound: all but each group\'s first request reuse the 4 system blocks', () => {
    // 9 of 12 requests × 64 cached tokens / (12 × 80 prompt tokens)
    assert.equal(prefixReuseBound(w.requests, 16).rate, (9 * 64) / (12 * 80));
  });

  test('the order is shuffled but seeded', () => {
    const again = sharedPrefixWorkload({ groups: 3, questionsPerGroup: 4, systemTokens: 64, questionTokens: 16, maxTokens: 8, range, seed: 1 });
    assert.deepEqual(again.requests, w.requests);
    assert.notDeepEqual(w.requests.map((r) => r.prefixGroup), [...w.requests.map((r) => r.prefixGroup)].sort());
  });
});

describe('multi-turn', () => {
  const w = multiTurnWorkload({ sessions: 2, turns: 3, systemTokens: 32, userTokens: 8, maxTokens: 4, thinkMs: 50, maxContextTokens: 1024, range });

  test('each turn extends the last: prompt(t) = prompt(t−1) ‖ reply ‖ user', () => {
    assert.equal(w.requests.length, 6);
    for (const s of ['s0', 's1']) {
      const turns = w.requests.filter((r) => r.session?.id === s).sort((a, b) => a.session!.turn - b.session!.turn);
      assert.deepEqual(turns.map((r) => r.promptIds.length), [40, 52, 64]);
      for (let t = 1; t < turns.length; t++) assert.deepEqual(turns[t].promptIds.slice(0, turns[t - 1].promptIds.length), turns[t - 1].promptIds);
      assert.deepEqual(turns.map((r) => r.session!.thinkMs), [50, 50, 50]);
    }
  });

  test('turn-major order, and a session stops before passing the context', () => {
    assert.deepEqual(w.requests.map((r) => r.id), ['s0-t0', 's1-t0', 's0-t1', 's1-t1', 's0-t2', 's1-t2']);
    const short = multiTurnWorkload({ sessions: 1, turns: 5, systemTokens: 32, userTokens: 8, maxTokens: 4, thinkMs: 0, maxContextTokens: 60, range });
    // 40 + 4 ≤ 60 fits; 52 + 4 ≤ 60 fits; 64 + 4 > 60 stops
    assert.equal(short.requests.length, 2);
  });
});

describe('moe-domains', () => {
  test('every prompt token lies in its labelled domain (small vocab)', () => {
    const w = moeDomainWorkload({ requests: 40, promptTokens: 32, maxTokens: 4, vocabSize: 8000, seed: 3 });
    for (const r of w.requests) assert.ok(r.promptIds.every((t) => domainOfToken({ vocabSize: 8000 }, t) === r.domain), r.id);
    assert.equal(new Set(w.requests.map((r) => r.domain)).size, 4);
  });

  test('the mix weights choose the domains', () => {
    const w = moeDomainWorkload({ requests: 400, promptTokens: 8, maxTokens: 1, vocabSize: 1024, mix: parseDomainMix('code=3,math=1') });
    const count = (d: string): number => w.requests.filter((r) => r.domain === d).length;
    assert.equal(count('legal') + count('biology'), 0);
    // 3:1 → about 300 code of 400 (binomial sd ≈ 8.7)
    assert.ok(Math.abs(count('code') - 300) < 40, `code ${count('code')}`);
    assert.throws(() => parseDomainMix('code=1,poetry=2'), /unknown domain "poetry"/);
    assert.throws(() => moeDomainWorkload({ requests: 1, promptTokens: 8, maxTokens: 1, vocabSize: 1024, mix: { code: 0 } }), /at least one domain/);
  });
});

describe('buildWorkload', () => {
  test('defaults, and a request that cannot fit the context is refused by name', async () => {
    const w = await buildWorkload({ name: 'shared-prefix' }, { vocabSize: 1024, maxContextTokens: 2048 });
    assert.equal(w.requests.length, 32);
    await assert.rejects(buildWorkload({ name: 'shared-prefix', systemTokens: 500 }, { vocabSize: 1024, maxContextTokens: 512 }), /needs 532 prompt \+ 16 output tokens, more than the model's context of 512/);
    await assert.rejects(buildWorkload({ name: 'mooncake' }, { vocabSize: 1024, maxContextTokens: 512 }), /needs a trace file/);
    await assert.rejects(buildWorkload({ name: 'azure', trace: '/nonexistent.csv' }, { vocabSize: 1024, maxContextTokens: 512 }), /cannot read trace \/nonexistent\.csv/);
  });
});
