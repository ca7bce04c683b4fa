/**
 * BlockManager scenarios: allocation, prefix sharing, the one-token cap, errors, disabled caching
 * and the transfer helpers. Expected block ids and refcounts are stated in the comments.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPromptBlocks } from '../../src/kv/block-hash.ts';
import { BlockManager } from '../../src/kv/block-manager.ts';
import { KvCacheError } from '../../src/kv/errors.ts';
import { freeQueue, managerWithEvents, prefill, range, refCounts } from './fixtures.ts';

void describe('BlockManager options', () => {
  void it('defaults blockSize 16, salt "" and prefix caching on', () => {
    const mgr = new BlockManager({ numBlocks: 8 });
    assert.equal(mgr.blockSize, 16);
    assert.equal(mgr.hashSalt, '');
    assert.equal(mgr.enablePrefixCaching, true);
    assert.deepEqual(mgr.stats(), {
      numBlocks: 8, blockSize: 16, usedBlocks: 0, freeBlocks: 8, cachedBlocks: 0, prefixQueries: 0, prefixHits: 0,
    });
  });

  void it('rejects bad options with a message naming the option', () => {
    assert.throws(() => new BlockManager({ numBlocks: 0 }), /numBlocks must be a positive integer, got 0/);
    assert.throws(() => new BlockManager({ numBlocks: 2.5 }), /numBlocks/);
    assert.throws(() => new BlockManager({ numBlocks: 4, blockSize: -16 }), /blockSize must be a positive integer/);
    assert.throws(() => new BlockManager({ numBlocks: NaN }), RangeError);
    // Wrong types from untyped config (YAML, env) are caught too.
    const bad = (o: object) => () => new BlockManager(o as never);
    assert.throws(bad({ numBlocks: '8' }), /numBlocks/);
    assert.throws(bad({ numBlocks: 8, hashSalt: 1 }), /hashSalt must be a string/);
    assert.throws(bad({ numBlocks: 8, enablePrefixCaching: 'yes' }), /enablePrefixCaching must be a boolean/);
  });
});

void describe('BlockManager allocation and sharing', () => {
  void it('allocates a fresh pool from id 0 upward', () => {
    const mgr = new BlockManager({ numBlocks: 10, blockSize: 16 });
    assert.deepEqual(mgr.openSequence('a', range(0, 40)), { cachedTokens: 0 });
    assert.equal(mgr.allocateSlots('a', 40), true); // ceil(40/16) = 3 blocks
    assert.deepEqual(mgr.blockTable('a'), [0, 1, 2]);
    assert.equal(mgr.allocateSlots('a', 48), true); // still 3 blocks: nothing new
    assert.equal(mgr.allocateSlots('a', 10), true); // never shrinks
    assert.deepEqual(mgr.blockTable('a'), [0, 1, 2]);
    assert.equal(mgr.allocateSlots('a', 49), true); // 4th block
    assert.deepEqual(mgr.blockTable('a'), [0, 1, 2, 3]);
    assert.equal(mgr.numFreeBlocks(), 6);
    assert.deepEqual(freeQueue(mgr), [4, 5, 6, 7, 8, 9]);
    assert.equal(mgr.stats().usedBlocks, 4);
  });

  void it('shares a 2-block prefix: the second sequence gets cachedTokens 32 and refCounts 2', () => {
    const { mgr, events } = managerWithEvents({ numBlocks: 10, blockSize: 16 });
    const a = range(0, 40); //                            blocks [0..16)[16..32)[32..40)
    const b = [...range(0, 32), ...range(1000, 8)]; //    same two full blocks, different tail
    prefill(mgr, 'a', a); //                              a → [0, 1, 2]; blocks 0, 1 hashed
    const [h0, h1] = hashPromptBlocks(a, 16);
    assert.deepEqual(events, [{ type: 'stored', seq: 1, parentHash: null, hashes: [h0, h1], blockSize: 16 }]);

    assert.deepEqual(mgr.openSequence('b', b), { cachedTokens: 32 });
    assert.equal(mgr.numCommittedTokens('b'), 32); // the cached prefix counts as committed
    assert.deepEqual(mgr.blockTable('b'), [0, 1]);
    assert.ok(mgr.allocateSlots('b', 40));
    assert.deepEqual(mgr.blockTable('b'), [0, 1, 3]); // b's own tail block is the next free id
    // block:            0  1  2  3  4 …
    assert.deepEqual(refCounts(mgr).slice(0, 5), [2, 2, 1, 1, 0]);
    const s = mgr.stats();
    assert.equal(s.prefixQueries, 80); // 40 + 40 prompt tokens looked up
    assert.equal(s.prefixHits, 32);
    assert.equal(s.usedBlocks, 4);
    assert.equal(s.cachedBlocks, 2);

    // Freeing a leaves the shared blocks referenced by b (refCount 1), only block 2 goes free.
    mgr.freeSequence('a');
    assert.deepEqual(refCounts(mgr).slice(0, 5), [1, 1, 0, 1, 0]);
    assert.deepEqual(freeQueue(mgr), [2, 4, 5, 6, 7, 8, 9]); // 2 is unhashed → head
  });

  void it('caps the cached prefix so at least one prompt token is computed', () => {
    const mgr = new BlockManager({ numBlocks: 10, blockSize: 16 });
    prefill(mgr, 'a', range(0, 48)); // blocks 0, 1, 2 all full and hashed
    // Same 32-token prompt: floor((32 - 1) / 16) = 1 block may come from cache.
    assert.deepEqual(mgr.openSequence('b', range(0, 32)), { cachedTokens: 16 });
    // 33 tokens: floor(32 / 16) = 2 blocks; token 32 is computed.
    assert.deepEqual(mgr.openSequence('c', range(0, 33)), { cachedTokens: 32 });
    // 16 tokens: floor(15 / 16) = 0; 1 token: 0.
    assert.deepEqual(mgr.openSequence('d', range(0, 16)), { cachedTokens: 0 });
    assert.deepEqual(mgr.openSequence('e', [0]), { cachedTokens: 0 });
    // allowFullPrefix (KV imported with the logits): every full block may be cached.
    assert.deepEqual(mgr.openSequence('f', range(0, 32), { allowFullPrefix: true }), { cachedTokens: 32 });
    assert.deepEqual(mgr.openSequence('g', range(0, 48), { allowFullPrefix: true }), { cachedTokens: 48 });
    // refs: block 0 by a b c f g, block 1 by a c f g, block 2 by a g
    assert.deepEqual(refCounts(mgr).slice(0, 3), [5, 4, 2]);
  });

  void it('leaves a block unhashed when another block already holds its hash (no dedupe)', () => {
    const { mgr, events } = managerWithEvents({ numBlocks: 8, blockSize: 16 });
    prefill(mgr, 'a', range(0, 32)); //    a → [0, 1], both hashed (stored seq 1)
    prefill(mgr, 'b', range(0, 32)); //    cap: only block 0 reused; b → [0, 2]
    assert.deepEqual(mgr.blockTable('b'), [0, 2]);
    // b committed tokens 16..31 into block 2: hash equals block 1's → block 2 stays unhashed.
    assert.equal(mgr.inspect().blocks[2].hash, null);
    assert.equal(events.length, 1);
    assert.equal(mgr.stats().cachedBlocks, 2);
    // The chain continues through the duplicate: b's next block links to block 1's hash.
    assert.ok(mgr.allocateSlots('b', 48));
    mgr.commitTokens('b', range(32, 16));
    const h = hashPromptBlocks(range(0, 48), 16);
    assert.deepEqual(events[1], { type: 'stored', seq: 2, parentHash: h[1], hashes: [h[2]], blockSize: 16 });
  });

  void it('keeps tenants apart by salt', () => {
    const mgr = new BlockManager({ numBlocks: 8, blockSize: 16, hashSalt: 'tenant-a' });
    prefill(mgr, 'a', range(0, 33)); // default salt of this manager: tenant-a
    assert.deepEqual(mgr.openSequence('b', range(0, 33), { salt: 'tenant-b' }), { cachedTokens: 0 });
    assert.deepEqual(mgr.openSequence('c', range(0, 33), { salt: 'tenant-a' }), { cachedTokens: 32 });
    assert.equal(mgr.cachedPrefixBlocks(hashPromptBlocks(range(0, 32), 16, 'tenant-a')), 2);
    assert.equal(mgr.cachedPrefixBlocks(hashPromptBlocks(range(0, 32), 16, 'tenant-b')), 0);
  });
});

void describe('BlockManager lifecycle errors', () => {
  void it('rejects a duplicate open and unknown ids with KvCacheError codes', () => {
    const mgr = new BlockManager({ numBlocks: 4, blockSize: 4 });
    mgr.openSequence('a', [1, 2]);
    const code = (c: string) => (e: unknown) => e instanceof KvCacheError && e.code === c;
    assert.throws(() => mgr.openSequence('a', [1]), code('duplicate-sequence'));
    assert.throws(() => mgr.allocateSlots('x', 4), code('unknown-sequence'));
    assert.throws(() => mgr.commitTokens('x', [1]), code('unknown-sequence'));
    assert.throws(() => mgr.blockTable('x'), code('unknown-sequence'));
    assert.throws(() => mgr.numCommittedTokens('x'), code('unknown-sequence'));
    assert.throws(() => mgr.allocateSlots('a', -1), RangeError);
    assert.throws(() => mgr.openSequence('b', [1, -2]), RangeError);
    assert.equal(mgr.hasSequence('b'), false); // a failed open leaves nothing behind
  });

  void it('refuses to commit past the allocated slots, changing nothing', () => {
    const { mgr, events } = managerWithEvents({ numBlocks: 4, blockSize: 4 });
    mgr.openSequence('a', range(0, 6));
    assert.ok(mgr.allocateSlots('a', 6)); // 2 blocks = 8 slots
    assert.throws(() => mgr.commitTokens('a', range(0, 9)), /exceeds 8 allocated slots/);
    assert.equal(mgr.numCommittedTokens('a'), 0);
    assert.equal(events.length, 0);
    mgr.commitTokens('a', range(0, 8)); // exactly the slots: fine
    assert.equal(mgr.numCommittedTokens('a'), 8);
  });

  void it('freeSequence is idempotent and false for unknown ids', () => {
    const mgr = new BlockManager({ numBlocks: 4, blockSize: 4 });
    prefill(mgr, 'a', range(0, 8)); //   a → [0, 1]
    prefill(mgr, 'b', range(0, 9)); //   b → [0, 1, 2] (2 blocks cached)
    assert.deepEqual(refCounts(mgr), [2, 2, 1, 0]);
    assert.equal(mgr.freeSequence('a'), true);
    assert.equal(mgr.freeSequence('a'), false); // second free: no double decrement
    assert.equal(mgr.freeSequence('nope'), false);
    assert.deepEqual(refCounts(mgr), [1, 1, 1, 0]);
    assert.equal(mgr.hasSequence('a'), false);
    assert.equal(mgr.hasSequence('b'), true);
  });
});

void describe('BlockManager with prefix caching disabled', () => {
  void it('hashes nothing, reuses nothing, emits nothing', () => {
    const { mgr, events } = managerWithEvents({ numBlocks: 6, blockSize: 4, enablePrefixCaching: false });
    prefill(mgr, 'a', range(0, 8)); //                           a → [0, 1]
    assert.deepEqual(mgr.openSequence('b', range(0, 9)), { cachedTokens: 0 });
    assert.ok(mgr.allocateSlots('b', 9)); //                     b → [2, 3, 4]: no sharing
    assert.deepEqual(mgr.blockTable('b'), [2, 3, 4]);
    assert.deepEqual(mgr.inspect().cached, []);
    assert.equal(mgr.cachedPrefixBlocks(hashPromptBlocks(range(0, 8), 4)), 0);
    // Every freed block is unhashed, so it goes to the head, first table entry last:
    // released in reverse table order [1, 0], each placed ahead of the previous head.
    mgr.freeSequence('a');
    assert.deepEqual(freeQueue(mgr), [1, 0, 5]);
    assert.deepEqual(events, []);
    assert.deepEqual(mgr.snapshot(), { seq: 0, blockSize: 4, hashes: [] });
    const s = mgr.stats();
    assert.equal(s.cachedBlocks, 0);
    assert.equal(s.prefixQueries, 0); // lookups are only counted while caching is on
  });
});

void describe('BlockManager transfer helpers', () => {
  void it('answers "I already hold this prefix" and imports the rest with allowFullPrefix', () => {
    const S = 16;
    const prompt = range(0, 48); //   3 full blocks
    const hashes = hashPromptBlocks(prompt, S);
    // Decode worker already holds the first 2 blocks from an earlier request (now finished).
    const decode = new BlockManager({ numBlocks: 8, blockSize: S });
    prefill(decode, 'old', range(0, 33)); // old → [0, 1, 2]; blocks 0, 1 hashed
    decode.freeSequence('old');
    assert.equal(decode.cachedPrefixBlocks(hashes), 2); // no refs taken
    assert.deepEqual(refCounts(decode).slice(0, 3), [0, 0, 0]);
    assert.equal(decode.cachedPrefixBlocks([hashes[0], 'ffffffffffffffff', hashes[1]]), 1); // stops at a miss

    // Import: the prefill worker sends block 2 (tokens 32..47) and the first generated token.
    assert.deepEqual(decode.openSequence('r', prompt, { allowFullPrefix: true }), { cachedTokens: 32 });
    assert.ok(decode.allocateSlots('r', 48));
    assert.deepEqual(decode.blockTable('r'), [0, 1, 2]); // 2 was unhashed → head of the queue
    decode.commitTokens('r', prompt.slice(32)); //         engine copied block 2's KV, then commits
    assert.equal(decode.cachedPrefixBlocks(hashes), 3);
  });
});
