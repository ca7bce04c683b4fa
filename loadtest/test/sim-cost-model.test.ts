/**
 * The engine cost model: the step formula, attention pairs, the link, parsing errors that name the
 * bad path, and the fit from bench output (it recovers a model the bench records were generated from).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CostModelError, DEFAULT_COST_MODEL_PATH, bodyParams, chunkPairs, fitCostModel, linkMs, loadCostModel, parseCostModel, readBenchRecords, stepMs,
  type EngineBench, type FitShape,
} from '../src/index.ts';
import { testCost } from './sim-fixtures.ts';

const SHAPE: FitShape = { name: 'small', layers: 4, hiddenSize: 256, numHeads: 8, kvHeads: 4, intermediateSize: 768, vocabSize: 8000, maxContextTokens: 4096 };

/** bench:engine figures a known model would produce: base 12 ms, 3 ms per decode sequence, k = 2e-7 ms/FLOP. */
function benchOf(base: number, decodeSeq: number, k: number): EngineBench {
  const pair = k * 4 * SHAPE.hiddenSize * SHAPE.layers;
  const prefillMs = base + 512 * k * 2 * bodyParams(SHAPE) + chunkPairs(0, 512) * pair;
  const step = (b: number): number => base + b * (decodeSeq + 40.5 * pair);
  return {
    model: 'small (llama 4L×256; moe 8×top2)', backend: 'wasm', threads: 1, weight_bytes: 20785152,
    prefill_tps_512: 512_000 / prefillMs, decode_tps_b1: 1000 / step(1), decode_tps_b8: 8000 / step(8), decode_tps_b32: 32_000 / step(32),
  };
}

describe('sim cost model', () => {
  test('step time adds base, prefill tokens, decoding sequences and attention pairs', () => {
    const m = testCost({ baseMs: 10, prefillTokenMs: 1, decodeSeqMs: 2, attentionPairMs: 0.001 });
    // 10 + 100·1 + 3·2 + 5000·0.001 = 121
    assert.equal(stepMs(m, { prefillTokens: 100, decodeSeqs: 3, attentionPairs: 5000 }), 121);
    // a chunk of 4 tokens at positions 8…11 attends to 9 + 10 + 11 + 12 = 42 keys
    assert.equal(chunkPairs(8, 4), 42);
    assert.equal(chunkPairs(0, 512), 131_328);
    // 2 MB over 100 MB/s = 20 ms
    assert.equal(linkMs(testCost({}, { bandwidthMBps: 100 }), 2_000_000), 20);
  });

  test('a bad model names the path of every bad value', () => {
    const good = testCost();
    assert.throws(() => parseCostModel({ ...good, step: { ...good.step, baseMs: -1 } }, 'm.json'), (e: Error) => e instanceof CostModelError && /m\.json: step\.baseMs/.test(e.message));
    assert.throws(() => parseCostModel({ ...good, transfer: { ...good.transfer, transport: 'udp' } }, 'm.json'), /transfer\.transport/);
    assert.throws(() => parseCostModel({ ...good, extra: 1 }, 'm.json'), /unrecognized/i);
  });

  test('the fit recovers the model its bench records came from; residuals are kept', () => {
    const m = fitCostModel({ engine: benchOf(12, 3, 2e-7), kvTransfer: { bytes: 1, duet_nats_MBps: 200, duet_tcp_MBps: 500 }, shape: SHAPE, transport: 'tcp', command: 'test' });
    assert.ok(Math.abs(m.step.baseMs - 12) < 1e-3, `base ${m.step.baseMs}`);
    assert.ok(Math.abs(m.step.decodeSeqMs - 3) < 1e-3, `decode ${m.step.decodeSeqMs}`);
    assert.ok(Math.abs(m.step.prefillTokenMs - 2e-7 * 2 * bodyParams(SHAPE)) < 1e-5);
    assert.ok(Math.abs(m.step.attentionPairMs - 2e-7 * 4 * 256 * 4) < 1e-8);
    assert.equal(m.transfer.bandwidthMBps, 500);
    assert.equal(m.model.kvBytesPerToken, 4 * 2 * 4 * 32 * 4);
    for (const r of Object.values(m.fit!.relative_residuals as Record<string, number>)) assert.ok(Math.abs(r) < 1e-3);
  });

  test('several bench runs are averaged as step times', () => {
    // runs at base 10 and base 14 (same slopes) average to base 12
    const m = fitCostModel({ engine: [benchOf(10, 3, 2e-7), benchOf(14, 3, 2e-7)], kvTransfer: null, bandwidthMBps: 100, shape: SHAPE, transport: 'nats', command: 'test' });
    assert.ok(Math.abs(m.step.baseMs - 12) < 1e-3, `base ${m.step.baseMs}`);
    assert.throws(() => fitCostModel({ engine: benchOf(10, 3, 2e-7), kvTransfer: null, shape: SHAPE, transport: 'nats', command: 'test' }), /no KV link bandwidth/);
  });

  test('bench records are found among other output lines', () => {
    const text = ['> duet@0.1.0 bench:engine', '[bench:engine] prefill 512: 680 tok/s', JSON.stringify(benchOf(12, 3, 2e-7)), '{not json', JSON.stringify({ bytes: 1, duet_nats_MBps: 65, duet_tcp_MBps: 132 })].join('\n');
    const r = readBenchRecords(text);
    assert.equal(r.engine.length, 1);
    assert.deepEqual(r.kvTransfer, [{ bytes: 1, duet_nats_MBps: 65, duet_tcp_MBps: 132 }]);
  });

  test('the committed default model parses and describes the demo model', async () => {
    const m = await loadCostModel(DEFAULT_COST_MODEL_PATH);
    assert.equal(m.model.vocabSize, 8000);
    assert.equal(m.model.kvBytesPerToken, 4096);
    assert.match(String(m.fit?.command), /duet simulate fit/);
  });
});
