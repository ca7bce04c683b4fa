import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_HASH_SALT,
  hashBlock,
  hashPromptBlocks,
  isBlockHash,
} from '../../src/kv/block-hash.ts';
import { range } from './fixtures.ts';

void describe('block hashes', () => {
  void it('matches known-answer vectors computed independently (Python hashlib)', () => {
    // sha256(salt ‖ 0x00 ‖ parent(8 bytes, zeros for the first block) ‖ uint32le tokens)[0..8)
    assert.equal(hashBlock(null, [1, 2, 3, 4], ''), '269d55d70d18af5d');
    assert.equal(hashBlock(null, [0xffff_ffff], ''), '51969ec6bd16407e');
    assert.deepEqual(hashPromptBlocks(range(0, 32), 16, ''), ['ed42f74b60e4d6e5', 'b6b548607c41b781']);
    assert.deepEqual(hashPromptBlocks(range(0, 16), 16, 'tenant-a'), ['5d8b0b75c6f16fb3']);
  });

  void it('is deterministic and 16 lowercase hex chars', () => {
    const a = hashPromptBlocks(range(100, 48), 16);
    const b = hashPromptBlocks(range(100, 48), 16, DEFAULT_HASH_SALT);
    assert.deepEqual(a, b);
    assert.equal(a.length, 3);
    for (const h of a) assert.ok(isBlockHash(h), h);
  });

  void it('separates salts: the same tokens under two tenants never share a hash', () => {
    const a = hashPromptBlocks(range(0, 32), 16, 'tenant-a');
    const b = hashPromptBlocks(range(0, 32), 16, 'tenant-b');
    assert.notEqual(a[0], b[0]);
    assert.notEqual(a[1], b[1]);
  });

  void it('chains: the same block tokens under a different parent hash differently', () => {
    const block = range(16, 16);
    const p1 = hashBlock(null, range(0, 16), '');
    const p2 = hashBlock(null, range(500, 16), '');
    const viaP1 = hashBlock(p1, block, '');
    assert.notEqual(viaP1, hashBlock(p2, block, ''));
    assert.notEqual(viaP1, hashBlock(null, block, ''));
    // hashPromptBlocks is exactly the chain of hashBlock calls.
    assert.deepEqual(hashPromptBlocks(range(0, 32), 16), [p1, viaP1]);
    // Two prompts whose second blocks are equal but first blocks differ: second hashes differ.
    const x = hashPromptBlocks([...range(0, 16), ...block], 16);
    const y = hashPromptBlocks([...range(500, 16), ...block], 16);
    assert.notEqual(x[1], y[1]);
  });

  void it('leaves a trailing partial block unhashed', () => {
    const full = hashPromptBlocks(range(0, 32), 16);
    assert.deepEqual(hashPromptBlocks(range(0, 47), 16), full); // 2 full + 15 tokens
    assert.deepEqual(hashPromptBlocks(range(0, 15), 16), []);
    assert.deepEqual(hashPromptBlocks([], 16), []);
  });

  void it('hashes typed arrays like plain arrays', () => {
    assert.deepEqual(hashPromptBlocks(Uint32Array.from(range(0, 40)), 8), hashPromptBlocks(range(0, 40), 8));
  });

  void it('rejects ids that are not uint32, malformed parents and bad block sizes', () => {
    assert.throws(() => hashBlock(null, [1, -1], ''), /index 1 .*\[0, 2\^32\)/);
    assert.throws(() => hashBlock(null, [2 ** 32], ''), RangeError);
    assert.throws(() => hashBlock(null, [1.5], ''), RangeError);
    assert.throws(() => hashBlock('ABCDEF0123456789', [1], ''), /parent/);
    assert.throws(() => hashBlock('abc', [1], ''), TypeError);
    assert.throws(() => hashPromptBlocks([1], 0), /blockSize/);
  });
});
