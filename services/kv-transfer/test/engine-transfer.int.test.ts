/**
 * Prefill engine → real transport (NATS or TCP, through a real nats-server) → decode engine: the
 * continued greedy decode must equal one engine doing it all, for a dense and a MoE model; and a
 * receiver that already caches a prefix receives only the positions it lacks.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Engine, LoadedModel } from '@duet/engine';
import { uniqueSubjects, withServers } from '@duet/testkit';
import { EngineKvSink } from '../src/engine-sink.ts';
import { EngineLayerTap } from '../src/engine-source.ts';
import { serveKvOffers } from '../src/offer-server.ts';
import { ARCHS, TRANSPORTS, engineFor, offerFor, pairOf, promptOf, randomLoaded, type TransportName } from './helpers.ts';

const servers = withServers();
const SAMPLING = { temperature: 0, maxTokens: 7 };

function decodeAll(engine: Engine, id: string): number[] {
  const tokens: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const out = engine.step().outputs.find((o) => o.id === id);
    if (out) tokens.push(...out.newTokens.map((t) => t.id));
    if (out?.finished) return tokens;
  }
  throw new Error('decode did not finish');
}

/** Prefills on one engine, moves the KV over `kind`, decodes on another; returns tokens and bytes. */
async function disaggregated(kind: TransportName, model: LoadedModel, prompt: number[], warm?: (decode: Engine) => void) {
  const subjects = uniqueSubjects();
  const pair = await pairOf(kind, servers.nats.url, subjects);
  const tap = new EngineLayerTap();
  const prefill = await engineFor(model, tap.hooks);
  tap.bind(prefill);
  const decode = await engineFor(model);
  warm?.(decode);
  const source = tap.source('r');
  const first = prefill.generate({ id: 'r', promptIds: prompt, sampling: { ...SAMPLING, maxTokens: 1 }, ignoreEos: true, holdKv: true }).newTokens;
  source.end({ tokenId: first[0].id });
  const sub = serveKvOffers({
    nc: pair.receiverNc,
    subjects,
    workerId: 'decode-0',
    transports: [pair.receiver],
    sinkFor: () => new EngineKvSink(decode, { id: 'r', promptIds: prompt, sampling: SAMPLING, ignoreEos: true, generated: first }),
  });
  await pair.receiverNc.flush(); // the offer subscription is live at the server
  const result = await pair.sender.send('decode-0', offerFor(model, prompt), source);
  assert.ok(result.ok, `transfer failed: ${JSON.stringify(result)}`);
  assert.equal(prefill.stats().blocks.usedBlocks, 0, 'the sender released its held KV');
  const tokens = [first[0].id, ...decodeAll(decode, 'r')];
  sub.unsubscribe();
  await pair.close();
  [prefill, decode].forEach((e) => e.dispose());
  return { tokens, bytes: result.bytes };
}

async function expectedTokens(model: LoadedModel, prompt: number[]): Promise<number[]> {
  const whole = await engineFor(model);
  const out = whole.generate({ id: 'r', promptIds: prompt, sampling: SAMPLING, ignoreEos: true }).newTokens.map((t) => t.id);
  whole.dispose();
  return out;
}

for (const spec of ARCHS) {
  for (const kind of TRANSPORTS) {
    describe(`KV transfer over ${kind} (${spec.arch})`, () => {
      const model = randomLoaded(spec);
      const c = model.config;
      const bytesPerToken = 2 * c.numLayers * c.numKvHeads * c.headDim * 4;

      test('prefill → transfer → decode equals one engine (greedy)', async () => {
        const prompt = promptOf(14, c.vocabSize, 3);
        const { tokens, bytes } = await disaggregated(kind, model, prompt);
        assert.deepEqual(tokens, await expectedTokens(model, prompt));
        assert.equal(bytes, prompt.length * bytesPerToken, 'every prompt position moved');
      });

      test('a receiver holding a prefix gets only the missing tokens', async () => {
        const shared = promptOf(8, c.vocabSize, 4); // 2 blocks of 4
        const prompt = [...shared, ...promptOf(6, c.vocabSize, 5)];
        const warm = (decode: Engine): void => {
          decode.generate({ id: 'warm', promptIds: [...shared, 9], sampling: { temperature: 0, maxTokens: 1 }, ignoreEos: true });
        };
        const { tokens, bytes } = await disaggregated(kind, model, prompt, warm);
        assert.deepEqual(tokens, await expectedTokens(model, prompt));
        // 8 cached tokens stay home: only positions 8…13 move.
        assert.equal(bytes, (prompt.length - 8) * bytesPerToken);
      });
    });
  }
}
