/**
 * Flow control and failure semantics over both transports: a slow receiver never has more than
 * the credit window in flight; injected loss, corruption and a stall past the deadline (which counts
 * from the last progress) each end in a typed failure within the deadline, and both engines' used
 * blocks return to their baseline.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueSubjects, withServers } from '@duet/testkit';
import { EngineKvSink } from '../src/engine-sink.ts';
import { EngineLayerTap } from '../src/engine-source.ts';
import { serveKvOffers } from '../src/offer-server.ts';
import type { KvTransferOptionsInput } from '../src/options.ts';
import { slicesSource } from '../src/slice-queue.ts';
import type { KvSink, TransferResult } from '../src/types.ts';
import { TRANSPORTS, engineFor, offerFor, pairOf, promptOf, randomLoaded, randomSlices, type TransportName } from './helpers.ts';

const servers = withServers();
const model = randomLoaded({ arch: 'llama' });
const c = model.config;
const tokenFloats = c.numKvHeads * c.headDim;
/** 256-byte chunks: 2 tokens of this toy model (128 bytes each), so a 14-token prompt is 14 chunks. */
const SMALL_CHUNKS = { chunkBytes: 256 };

/** Serves one receiver with `sink`; returns both sides' results. */
async function run(kind: TransportName, options: KvTransferOptionsInput, sinkFor: () => KvSink, send: (p: Awaited<ReturnType<typeof pairOf>>) => Promise<TransferResult>) {
  const subjects = uniqueSubjects();
  const pair = await pairOf(kind, servers.nats.url, subjects, options);
  let receiverResult!: (r: TransferResult) => void;
  const received = new Promise<TransferResult>((r) => (receiverResult = r));
  const sub = serveKvOffers({ nc: pair.receiverNc, subjects, workerId: 'decode-0', transports: [pair.receiver], sinkFor, onResult: (_, r) => receiverResult(r) });
  await pair.receiverNc.flush();
  const sent = await send(pair);
  const got = await received;
  sub.unsubscribe();
  await pair.close();
  return { sent, got };
}

for (const kind of TRANSPORTS) {
  describe(`flow control and faults over ${kind}`, () => {
    test('a slow receiver never has more than the window in flight', async () => {
      const window = 4;
      const slow: KvSink = { begin: () => ({ cachedTokens: 0 }), write: () => new Promise((r) => setTimeout(r, 3)), finish: () => undefined, abort: () => undefined };
      const slices = randomSlices(c.numLayers, 32, tokenFloats);
      const { sent, got } = await run(kind, { ...SMALL_CHUNKS, creditWindow: window }, () => slow, (p) =>
        p.sender.send('decode-0', offerFor(model, promptOf(32, c.vocabSize)), slicesSource(slices, { tokenId: 5 })),
      );
      assert.ok(sent.ok && got.ok, JSON.stringify({ sent, got }));
      assert.equal(got.chunks, 32, '16 chunks per layer × 2 layers');
      assert.ok(got.maxInFlightChunks! <= window, `max in flight ${got.maxInFlightChunks} > window ${window}`);
      assert.ok(got.maxInFlightChunks! >= 2, 'the slow sink did let chunks queue up to the window');
      assert.deepEqual(got.firstToken, { tokenId: 5 });
    });

    test('a transfer that keeps moving may take longer than its deadline', async () => {
      // 14 chunks 60 ms apart ≈ 0.8 s in all, against a 300 ms deadline: progress extends it.
      const slices = randomSlices(c.numLayers, 14, tokenFloats);
      const t0 = performance.now();
      const { sent, got } = await run(kind, { ...SMALL_CHUNKS, deadlineMs: 300, faults: { delayMs: 60 } }, () => ({ begin: () => ({ cachedTokens: 0 }), write: () => undefined, finish: () => undefined, abort: () => undefined }), (p) =>
        p.sender.send('decode-0', { ...offerFor(model, promptOf(14, c.vocabSize)), timeoutMs: 0 }, slicesSource(slices, { tokenId: 5 })),
      );
      assert.ok(sent.ok && got.ok, JSON.stringify({ sent, got }));
      assert.ok(performance.now() - t0 > 300, 'the whole transfer outlasted the deadline');
    });

    const cases: Array<[string, KvTransferOptionsInput, string]> = [
      ['a lost chunk', { faults: { dropChunk: (seq) => seq === 3 } }, 'gap'],
      ['a corrupt chunk', { faults: { corruptChunk: (seq) => seq === 2 } }, 'checksum'],
      // The deadline counts from the last progress: a transfer that stops moving for deadlineMs fails.
      ['a transfer that stalls past its deadline', { deadlineMs: 300, faults: { delayMs: 1000 } }, 'deadline'],
    ];
    for (const [name, options, reason] of cases) {
      test(`${name} ends in a typed '${reason}' failure and strands no blocks`, async () => {
        const prompt = promptOf(14, c.vocabSize, 2);
        const tap = new EngineLayerTap();
        const prefill = await engineFor(model, tap.hooks);
        tap.bind(prefill);
        const decode = await engineFor(model);
        const [prefillBase, decodeBase] = [prefill.stats().blocks.usedBlocks, decode.stats().blocks.usedBlocks];
        const source = tap.source('r');
        const first = prefill.generate({ id: 'r', promptIds: prompt, sampling: { temperature: 0, maxTokens: 1 }, ignoreEos: true, holdKv: true }).newTokens;
        source.end({ tokenId: first[0].id });
        const sink = (): KvSink => new EngineKvSink(decode, { id: 'r', promptIds: prompt, sampling: { temperature: 0, maxTokens: 4 }, ignoreEos: true, generated: first });
        const offer = { ...offerFor(model, prompt), timeoutMs: 0 }; // 0: the transport's deadlineMs
        const t0 = performance.now();
        const { sent, got } = await run(kind, { ...SMALL_CHUNKS, deadlineMs: 3000, ...options }, sink, (p) => p.sender.send('decode-0', offer, source));
        const elapsedMs = performance.now() - t0;
        assert.equal(got.ok, false);
        assert.equal(sent.ok, false);
        assert.equal(!got.ok && got.reason, reason, JSON.stringify(got));
        assert.equal(!sent.ok && sent.reason, reason, JSON.stringify(sent));
        assert.ok(elapsedMs < (options.deadlineMs ?? 3000) + 1000, `took ${elapsedMs} ms`);
        assert.equal(prefill.stats().blocks.usedBlocks, prefillBase, 'the sender released its held KV');
        assert.equal(decode.stats().blocks.usedBlocks, decodeBase, 'the receiver released the import');
        [prefill, decode].forEach((e) => e.dispose());
      });
    }
  });
}
