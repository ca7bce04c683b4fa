/**
 * A simulated worker's scheduler and timing on a hand-made cost model
 * (step = 10 ms + 1 ms per prefill token + 2 ms per decoding sequence): chunked prefill under the
 * token budget, prefix reuse, the prefill-only and import paths, and preemption when the KV cache is
 * full. Every expected time is worked out in the comments.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SimSeq } from '../src/index.ts';
import { Harness, req } from './sim-fixtures.ts';

const ENGINE = { blockSize: 4, numBlocks: 16, maxBatchTokens: 8, maxRunningSeqs: 4 };

describe('sim worker', () => {
  test('chunked prefill, then one token per step; a second prompt reuses the cached prefix', () => {
    const h = new Harness(ENGINE);
    const a = new SimSeq(req('a', 10, 3, ['h0', 'h1']), 'local', 0);
    h.worker.submit(a, 0);
    // step 1: 8 prompt tokens (budget 8) → 10 + 8 = 18; blocks h0 h1 stored at its end
    // step 2: the last 2 prompt tokens → 10 + 2 = 12 → 30, samples token 1
    // steps 3, 4: one decode each → 10 + 2 = 12 → tokens 2 and 3 at 42 and 54; done
    assert.equal(h.runUntilIdle(), 54);
    assert.deepEqual(h.tokens, ['a#1@30', 'a#2@42', 'a#3@54']);
    assert.deepEqual(h.kv, [{ removed: [], stored: ['h0', 'h1'] }]);
    assert.equal(a.cachedTokens, 0);
    assert.equal(h.worker.cache.usedBlocks, 0);
    // b shares h0 h1: 8 tokens cached (cap: floor((10 − 1) / 4) = 2 blocks), 2 computed → 10 + 2 = 12
    const b = new SimSeq(req('b', 10, 1, ['h0', 'h1']), 'local', 1);
    h.worker.submit(b, 54);
    h.runUntilIdle();
    assert.equal(b.cachedTokens, 8);
    assert.deepEqual(h.tokens.slice(3), ['b#1@66']);
    assert.equal(h.worker.stats.prefillTokens, 12);
    assert.equal(h.worker.stats.decodeTokens, 2);
  });

  test('decodes go first in a step and prompts fill the rest of the budget', () => {
    const h = new Harness(ENGINE);
    h.worker.submit(new SimSeq(req('a', 4, 3, ['a0']), 'local', 0), 0);
    // step 1 starts at once: a's 4 tokens → 10 + 4 = 14 → a#1 at 14
    h.worker.submit(new SimSeq(req('b', 12, 1, ['b0', 'b1', 'b2']), 'local', 1), 0);
    // b waits for the next step. step 2: a decodes (1) + b's first 7 (budget 8 − 1) → 10 + 2 + 7 = 19 → a#2 at 33
    // step 3: a decodes + b's last 5 → 10 + 2 + 5 = 17 → a#3 and b#1 at 50
    h.runUntilIdle();
    assert.deepEqual(h.tokens, ['a#1@14', 'a#2@33', 'a#3@50', 'b#1@50']);
  });

  test('prefill role: chunks reported for the transfer, the sequence held until released', () => {
    const h = new Harness(ENGINE, undefined, 'prefill');
    const p = new SimSeq(req('p', 10, 5, ['h0', 'h1']), 'prefill', 0);
    h.worker.submit(p, 0);
    assert.equal(h.runUntilIdle(), 30);
    assert.deepEqual(h.chunks, ['p[0,8)@0-18', 'p[8,10)@18-30']);
    assert.deepEqual(h.tokens, ['p#1@30']);
    assert.equal(p.status, 'held');
    assert.equal(h.worker.heldWork, 1);
    assert.equal(h.worker.cache.usedBlocks, 3);
    h.worker.releaseHeld(p, 40);
    assert.equal(h.worker.heldWork, 0);
    assert.equal(h.worker.cache.usedBlocks, 0);
    assert.equal(h.worker.cache.cachedBlocks, 2);
  });

  test('import: the cached prefix is pinned, the rest reserved; decoding starts when the KV arrives', () => {
    const h = new Harness(ENGINE);
    h.worker.submit(new SimSeq(req('warm', 5, 1, ['h0']), 'local', 0), 0);
    h.runUntilIdle(); // h0 now cached (idle)
    const d = new SimSeq(req('d', 10, 3, ['h0', 'h1']), 'import', 1);
    assert.ok(h.worker.beginImport(d));
    assert.equal(d.cachedTokens, 4); // h0 pinned; ceil(10 / 4) − 1 = 2 blocks reserved
    assert.equal(h.worker.cache.usedBlocks, 3);
    h.worker.completeImport(d, 100);
    // token 1 came with the KV; tokens 2, 3 by decode steps of 10 + 2 = 12 ms
    h.runUntilIdle();
    assert.deepEqual(h.tokens.slice(1), ['d#2@112', 'd#3@124']);
    assert.deepEqual(h.kv.at(-1), { removed: [], stored: ['h1'] });
  });

  test('a full cache preempts the newest running sequence, which is recomputed later', () => {
    // 4 blocks of 4 = 16 token slots; each request fits alone (8 + 8 and 7 + 8 tokens), not both
    const h = new Harness({ blockSize: 4, numBlocks: 4, maxBatchTokens: 16, maxRunningSeqs: 4 });
    const a = new SimSeq(req('a', 8, 8, ['a0', 'a1']), 'local', 0);
    const b = new SimSeq(req('b', 7, 8, ['b0']), 'local', 1);
    // held while both arrive, so that one step admits both
    h.worker.state = 'stopped';
    h.worker.submit(a, 0);
    h.worker.submit(b, 0);
    h.worker.state = 'ready';
    h.worker.kick(0);
    // step 1: a 8 + b 7 tokens (all 4 blocks) → 10 + 15 = 25 → a#1, b#1
    // step 2: a needs a 3rd block → b (newest) is preempted, its b0 idle; b cannot be re-admitted
    //         → a alone, 10 + 2 = 12 per step → a#2 … a#8 at 37 … 109 (a's 4th block evicts b0)
    // then b recomputes prompt + its 1 token (8 tokens, nothing cached) → 10 + 8 = 18 → b#2 at 127,
    //         then b#3 … b#8 every 12 ms → 199
    h.runUntilIdle();
    const at = (id: string): number => Number(h.tokens.find((t) => t.startsWith(`${id}@`))!.split('@')[1]);
    assert.equal(h.worker.stats.preemptions, 1);
    assert.equal(b.preemptions, 1);
    assert.equal(at('a#1'), 25);
    assert.equal(at('b#1'), 25);
    assert.equal(at('a#8'), 109);
    assert.equal(at('b#2'), 127);
    assert.equal(at('b#8'), 199);
    // KV events: step 1 stores a0 a1 b0; a's 4th block evicts b0; b's recompute stores b0 again and
    // its 3rd and 4th blocks evict a0 then a1 (idle since a ended, oldest first)
    assert.deepEqual(h.kv.map((e) => [...e.removed.map((x) => `-${x}`), ...e.stored.map((x) => `+${x}`)].join(' ')), ['+a0 +a1 +b0', '-b0', '+b0', '-a0', '-a1']);
    assert.equal(h.worker.cache.usedBlocks, 0);
  });
});
