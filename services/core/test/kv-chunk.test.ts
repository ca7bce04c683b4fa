import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { DEFAULT_KV_CHUNK_BYTES, NATS_DEFAULT_MAX_PAYLOAD_BYTES, crc32, crc32Js, tokensPerChunk } from '../src/index.ts';

void describe('KV chunk framing', () => {
  void it('crc32 is the IEEE/zlib CRC-32 (check value of "123456789")', () => {
    const check = new TextEncoder().encode('123456789');
    assert.equal(crc32(check), 0xcbf43926);
    assert.equal(crc32Js(check), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
  });

  void it('the native and the JS crc32 agree on random data, and both catch a flipped bit', () => {
    const data = randomBytes(100_003);
    const sum = crc32(data);
    assert.equal(crc32Js(data), sum);
    data[5000] ^= 0x10;
    assert.notEqual(crc32(data), sum);
  });

  void it('chunks are 768 KiB by default, three quarters of the default max_payload', () => {
    assert.equal(DEFAULT_KV_CHUNK_BYTES * 4, NATS_DEFAULT_MAX_PAYLOAD_BYTES * 3);
  });

  void it('tokensPerChunk fits whole tokens in the budget, at least one', () => {
    // f32, 8 KV heads, head dim 128: 2 × 8 × 128 × 4 = 8 KiB per token per layer → 96 per 768 KiB chunk.
    assert.equal(tokensPerChunk(2 * 8 * 128 * 4), 96);
    assert.equal(tokensPerChunk(3000, 10_000), 3);
    assert.equal(tokensPerChunk(1 << 20, 1 << 18), 1);
    assert.throws(() => tokensPerChunk(0), RangeError);
    assert.throws(() => tokensPerChunk(8, 0.5), RangeError);
  });
});
