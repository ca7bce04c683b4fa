/**
 * Layer-wise streaming: with the engine's onLayerStored hook feeding the source, layer 0's chunk
 * is handed to the transport before layer 1 is computed, i.e. before the prefill forward pass ends.
 * (The engine's forward pass is synchronous: NATS puts the bytes on the wire when it returns to the
 * event loop; a TCP socket writes them at once.)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueSubjects, withServers } from '@duet/testkit';
import { EngineKvSink } from '../src/engine-sink.ts';
import { EngineLayerTap } from '../src/engine-source.ts';
import { serveKvOffers } from '../src/offer-server.ts';
import { TRANSPORTS, engineFor, offerFor, pairOf, promptOf, randomLoaded } from './helpers.ts';

const servers = withServers();

for (const kind of TRANSPORTS) {
  describe(`streaming over ${kind}`, () => {
    test('the first chunk is sent before the prefill forward pass finishes', async () => {
      const model = randomLoaded({ arch: 'llama' }, 3);
      const c = model.config;
      const prompt = promptOf(12, c.vocabSize, 6);
      const events: string[] = [];
      const subjects = uniqueSubjects();
      const pair = await pairOf(kind, servers.nats.url, subjects, { observer: { chunkSent: (seq, layer) => events.push(`sent ${seq} (layer ${layer})`) } });
      const tap = new EngineLayerTap();
      const prefill = await engineFor(model, {
        onLayerStored: (layer, spans) => {
          events.push(`stored layer ${layer}`);
          tap.hooks.onLayerStored?.(layer, spans);
        },
      });
      tap.bind(prefill);
      const decode = await engineFor(model);
      // The decode worker learns the first token from the prefill result; here a reference run gives it.
      const ref = await engineFor(model);
      const first = ref.generate({ id: 'r', promptIds: prompt, sampling: { temperature: 0, maxTokens: 1 }, ignoreEos: true }).newTokens;
      const sub = serveKvOffers({
        nc: pair.receiverNc,
        subjects,
        workerId: 'decode-0',
        transports: [pair.receiver],
        sinkFor: () => new EngineKvSink(decode, { id: 'r', promptIds: prompt, sampling: { temperature: 0, maxTokens: 3 }, ignoreEos: true, generated: first }),
      });
      await pair.receiverNc.flush();

      const source = tap.source('r');
      const sent = pair.sender.send('decode-0', offerFor(model, prompt), source);
      await source.streaming; // offer accepted: chunks now go out as layers are stored
      prefill.addRequest({ id: 'r', promptIds: prompt, sampling: { temperature: 0, maxTokens: 1 }, ignoreEos: true, holdKv: true });
      const out = prefill.step().outputs.find((o) => o.id === 'r')!;
      events.push('forward done');
      source.end({ tokenId: out.newTokens[0].id });
      const result = await sent;
      assert.ok(result.ok, JSON.stringify(result));

      // One 256 KiB chunk holds a whole layer here: expected order, layer by layer.
      assert.deepEqual(events, ['stored layer 0', 'sent 0 (layer 0)', 'stored layer 1', 'sent 1 (layer 1)', 'forward done']);
      sub.unsubscribe();
      await pair.close();
      [prefill, decode, ref].forEach((e) => e.dispose());
    });
  });
}
