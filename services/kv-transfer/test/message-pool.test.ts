/**
 * Slots for NATS chunk messages: reused only after the receiver acknowledged them, never after a
 * failed transfer, never more than `maxSlots` created; a chunk encoded into a slot is the same
 * KvChunk, checksum included, as the one the TCP transport writes in parts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { wire } from '@duet/core';
import { draftChunk, encodeChunkInto, encodeChunkParts } from '../src/chunking.ts';
import { kvHashReference, sharedHasher } from '../src/kv-hash.ts';
import { InFlightMessages, MessagePool } from '../src/message-pool.ts';
import { CHUNK_OVERHEAD_BYTES } from '../src/options.ts';

describe('MessagePool', () => {
  test('slots are created on demand, up to maxSlots; a returned slot is handed out again', () => {
    const pool = new MessagePool(1024, 3);
    assert.equal(pool.createdCount, 0, 'no memory until the first take');
    const a = pool.take(100);
    assert.ok(a.pooled);
    assert.equal(a.bytes.byteLength, 1024);
    assert.equal(pool.createdCount, 3, 'one slab of min(8, maxSlots) slots');
    pool.give(a);
    const b = pool.take(1000);
    assert.equal(b, a, 'the same slot, no new memory');
  });

  test('past maxSlots, or for a message larger than a slot, a one-off buffer that is never pooled', () => {
    const pool = new MessagePool(1024, 2);
    const taken = [pool.take(10), pool.take(10)];
    const extra = pool.take(10);
    assert.equal(extra.pooled, false);
    assert.equal(pool.createdCount, 2);
    const big = pool.take(5000);
    assert.equal(big.pooled, false);
    assert.equal(big.bytes.byteLength, 5000);
    [...taken, extra, big].forEach((s) => pool.give(s));
    assert.equal(pool.freeCount, 2);
  });

  test('a slot hashes its bytes in place exactly as the definition says', () => {
    const pool = new MessagePool(4096, 8);
    for (const slot of [pool.take(100), pool.take(9000)]) {
      const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7 + 3) & 0xff);
      slot.bytes.set(data, 5);
      assert.equal(slot.hash(5, 1000), kvHashReference(data), slot.pooled ? 'pooled slot' : 'one-off buffer');
    }
  });
});

describe('InFlightMessages', () => {
  test('acked(s) returns every slot up to seq s, in order, and only those', () => {
    const pool = new MessagePool(64, 8);
    const inFlight = new InFlightMessages(pool);
    for (let seq = 0; seq < 5; seq++) inFlight.add(seq, pool.take(10));
    assert.equal(pool.freeCount, 3, '8 created, 5 taken');
    inFlight.acked(2); // seqs 0, 1, 2 back
    assert.equal(pool.freeCount, 6);
    assert.equal(inFlight.size, 2);
    inFlight.acked(2); // nothing new
    assert.equal(pool.freeCount, 6);
    inFlight.acked(4);
    assert.equal(pool.freeCount, 8);
    assert.equal(inFlight.size, 0);
  });

  test('abandon() forgets unacknowledged slots: a failed transfer returns nothing to the pool', () => {
    const pool = new MessagePool(64, 3);
    const inFlight = new InFlightMessages(pool);
    for (let seq = 0; seq < 3; seq++) inFlight.add(seq, pool.take(10));
    inFlight.abandon();
    inFlight.acked(10);
    assert.equal(pool.freeCount, 0);
  });
});

describe('chunk encoders', () => {
  const slice = { layer: 1, tokenStart: 10, tokenEnd: 14, k: Float32Array.from({ length: 4 * 6 }, (_, i) => i + 0.5), v: Float32Array.from({ length: 4 * 6 }, (_, i) => -i) };
  const header = { transferId: 'x-1', seq: 7, layer: 1, tokenStart: 11, tokenEnd: 13 };
  const join = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

  test('in a slot and in parts: the same bytes, a KvChunk whose checksum is duet-kv32 of its payload', () => {
    const draft = draftChunk(header, slice, 6);
    assert.equal(draft.payloadBytes, 2 * 2 * 6 * 4, '2 tokens of K and of V, 6 floats each');
    const slot = new MessagePool(1024, 1).take(draft.payloadBytes + CHUNK_OVERHEAD_BYTES);
    const inSlot = encodeChunkInto(draft, slot.bytes, (from, n) => slot.hash(from, n), 1 << 20);
    const inParts = encodeChunkParts(draft, sharedHasher(), 1 << 20);
    assert.deepEqual([...inSlot], [...join(inParts.parts)]);
    assert.equal(inParts.byteLength, inSlot.byteLength);
    const c = wire.kvChunk.decode(inSlot);
    assert.deepEqual({ ...header, payload: [...c.payload] }, { transferId: c.transferId, seq: c.seq, layer: c.layer, tokenStart: c.tokenStart, tokenEnd: c.tokenEnd, payload: [...join([draft.k, draft.v])] });
    assert.equal(c.checksum, kvHashReference(c.payload));
  });

  test('the corruption fault flips a payload byte after the checksum, never in the source', () => {
    const before = Float32Array.from(slice.k);
    const draft = draftChunk(header, slice, 6, true);
    const slot = new MessagePool(1024, 1).take(draft.payloadBytes + CHUNK_OVERHEAD_BYTES);
    for (const bytes of [encodeChunkInto(draft, slot.bytes, (from, n) => slot.hash(from, n), 1 << 20), join(encodeChunkParts(draft, sharedHasher(), 1 << 20).parts)]) {
      const c = wire.kvChunk.decode(bytes);
      assert.notEqual(c.checksum, kvHashReference(c.payload));
    }
    assert.deepEqual(slice.k, before);
  });

  test('a chunk over max_payload fails by name', () => {
    const draft = draftChunk(header, slice, 6);
    assert.throws(() => encodeChunkParts(draft, sharedHasher(), 64), { name: 'PayloadTooLargeError' });
    assert.throws(() => encodeChunkInto(draft, new Uint8Array(2048), () => 0, 64), { name: 'PayloadTooLargeError' });
  });
});
