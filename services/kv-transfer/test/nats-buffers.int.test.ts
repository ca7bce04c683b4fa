/**
 * The NATS transport writes each chunk into a pooled slot and reuses it only once the receiver
 * acknowledged that chunk (README.md, "NATS message slots"): back-to-back transfers on one
 * transport deliver every byte intact while reusing slots (never more than one window's worth),
 * and a failed transfer returns none of its unacknowledged slots to the pool.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueSubjects, withServers } from '@duet/testkit';
import type { NatsKvTransport } from '../src/nats-transport.ts';
import { serveKvOffers } from '../src/offer-server.ts';
import type { KvTransferOptionsInput } from '../src/options.ts';
import { slicesSource } from '../src/slice-queue.ts';
import type { KvSink, KvSlice, TransferResult } from '../src/types.ts';
import { offerFor, pairOf, promptOf, randomLoaded, randomSlices } from './helpers.ts';

const servers = withServers();
const model = randomLoaded({ arch: 'llama' });
const c = model.config;
const tokenFloats = c.numKvHeads * c.headDim;
/** 4 tokens per chunk: a 24-token prompt is 6 chunks per layer. */
const OPTIONS: KvTransferOptionsInput = { chunkBytes: 4 * 2 * tokenFloats * 4, creditWindow: 8 };

/** A sink that keeps a copy of every slice it is given (the bytes must outlive the message). */
function recordingSink(into: KvSlice[]): KvSink {
  return {
    begin: () => ({ cachedTokens: 0 }),
    write: (s) => void into.push({ ...s, k: Float32Array.from(s.k), v: Float32Array.from(s.v) }),
    finish: () => undefined,
    abort: () => undefined,
  };
}

/** The received slices, reassembled per layer as [tokens, K·D] K and V. */
function byLayer(received: KvSlice[], layers: number, tokens: number): Array<{ k: Float32Array; v: Float32Array }> {
  const out = Array.from({ length: layers }, () => ({ k: new Float32Array(tokens * tokenFloats), v: new Float32Array(tokens * tokenFloats) }));
  for (const s of received) {
    out[s.layer].k.set(s.k, s.tokenStart * tokenFloats);
    out[s.layer].v.set(s.v, s.tokenStart * tokenFloats);
  }
  return out;
}

describe('NATS chunk message slots', () => {
  test('back-to-back transfers reuse acknowledged slots and deliver every byte intact', async () => {
    const subjects = uniqueSubjects();
    const pair = await pairOf('nats', servers.nats.url, subjects, OPTIONS);
    const sender = pair.sender as NatsKvTransport;
    const received: KvSlice[][] = [[], [], []];
    let round = 0;
    const results: TransferResult[] = [];
    const sub = serveKvOffers({ nc: pair.receiverNc, subjects, workerId: 'decode-0', transports: [pair.receiver], sinkFor: () => recordingSink(received[round]), onResult: (_, r) => results.push(r) });
    await pair.receiverNc.flush();
    try {
      assert.equal(sender.messagePool.createdCount, 0);
      for (round = 0; round < 3; round++) {
        const slices = randomSlices(c.numLayers, 24, tokenFloats, 10 + round); // different bytes each round
        const r = await sender.send('decode-0', offerFor(model, promptOf(24, c.vocabSize, round)), slicesSource(slices, { tokenId: 3 }));
        assert.ok(r.ok, JSON.stringify(r));
        assert.equal(r.chunks, 12, '6 chunks per layer × 2 layers');
        assert.deepEqual(byLayer(received[round], c.numLayers, 24), slices.map((s) => ({ k: s.k, v: s.v })), `round ${round}: every byte as sent`);
        // Every chunk was acknowledged: every slot is back, and 12 chunks per round over 3 rounds
        // never needed more than the window's 8 slots.
        assert.equal(sender.messagePool.createdCount, 8);
        assert.equal(sender.messagePool.freeCount, 8, `round ${round}: all slots back`);
      }
      assert.ok(results.every((r) => r.ok));
    } finally {
      sub.unsubscribe();
      await pair.close();
    }
  });

  test('a failed transfer gives none of its unacknowledged slots back', async () => {
    const subjects = uniqueSubjects();
    const pair = await pairOf('nats', servers.nats.url, subjects, { ...OPTIONS, faults: { corruptChunk: (seq) => seq === 6 } });
    const sender = pair.sender as NatsKvTransport;
    let receiverResult!: (r: TransferResult) => void;
    const got = new Promise<TransferResult>((r) => (receiverResult = r));
    const sub = serveKvOffers({ nc: pair.receiverNc, subjects, workerId: 'decode-0', transports: [pair.receiver], sinkFor: () => recordingSink([]), onResult: (_, r) => receiverResult(r) });
    await pair.receiverNc.flush();
    try {
      const r = await sender.send('decode-0', offerFor(model, promptOf(24, c.vocabSize, 9)), slicesSource(randomSlices(c.numLayers, 24, tokenFloats, 5), { tokenId: 3 }));
      assert.equal(r.ok, false);
      assert.equal((await got).ok, false);
      assert.equal(r.ok ? '' : r.reason, 'checksum');
      // Chunks 0‥5 were imported and at most their slots came back (credits come every 2 chunks);
      // the corrupt chunk 6 and whatever followed it were never acknowledged, so they stay out.
      assert.equal(sender.messagePool.createdCount, 8);
      assert.ok(sender.messagePool.freeCount <= 6, `free ${sender.messagePool.freeCount}`);
    } finally {
      sub.unsubscribe();
      await pair.close();
    }
  });
});
