/**
 * A prefill worker and a decode worker, both in this process, over the NATS and the TCP KV
 * transport, dense and MoE: the decode worker's stream equals one engine's output (greedy and
 * seeded); the decode worker's cached prefix shrinks the transfer of a second request sharing a
 * long prefix; cancellation mid-stream returns both workers' block counts to baseline.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FinishReason, KvTransportKind, wire } from '@duet/core';
import { uniqueId, uniqueSubjects, withServers } from '@duet/testkit';
import { connect, type NatsConnection } from 'nats';
import type { Worker } from '../src/index.ts';
import { GREEDY, SEEDED, eventually, expectedTokens, modelDir, promptOf, runRequest, startWorker, usedBlocks } from './helpers.ts';

const servers = withServers();

const KINDS = [
  ['nats', KvTransportKind.NATS],
  ['tcp', KvTransportKind.TCP],
] as const;

for (const arch of ['llama', 'moe'] as const) {
  for (const [kindName, kind] of KINDS) {
    describe(`prefill worker → ${kindName} → decode worker (${arch})`, () => {
      const subjects = uniqueSubjects();
      let model: Awaited<ReturnType<typeof modelDir>>;
      let prefill: Worker;
      let decode: Worker;
      let nc: NatsConnection;
      const base = () => ({ natsUrl: servers.nats.url, subjects, modelDir: model.dir });
      const run = (promptIds: number[], sampling = GREEDY, extra: Partial<Parameters<typeof runRequest>[2]> = {}) =>
        runRequest(nc, subjects, { promptIds, sampling, decodeWorkerId: decode.config.workerId, prefillWorkerId: prefill.config.workerId, transport: kind, ...extra });

      before(async () => {
        model = await modelDir(arch);
        nc = await connect({ servers: servers.nats.url });
        prefill = await startWorker(base(), { role: 'prefill', transport: kindName });
        decode = await startWorker(base(), { role: 'decode', transport: kindName });
      });
      after(async () => {
        await Promise.all([prefill.stop(), decode.stop()]);
        await nc.drain();
        await model.cleanup();
      });

      for (const [name, sampling] of [['greedy', GREEDY], ['seeded', SEEDED]] as const) {
        test(`tokens equal one engine (${name}); the whole prompt moved; no blocks held after`, async () => {
          const prompt = promptOf(18, name === 'greedy' ? 21 : 22);
          const r = await run(prompt, sampling);
          assert.deepEqual(r.tokens, await expectedTokens(model.dir, prompt, sampling));
          assert.equal(r.finish, FinishReason.LENGTH);
          assert.ok(r.prefill && !r.prefill.error, `prefill result: ${JSON.stringify(r.prefill?.error)}`);
          assert.equal(r.prefill.firstToken?.tokenId, r.tokens[0], 'the first streamed token is the prefill worker\u2019s');
          assert.equal(r.prefill.transferredTokens, 18);
          if (arch === 'moe') assert.ok(r.prefill.expertHistogram.length > 0, 'MoE prefill reports its expert histogram');
          await eventually(() => usedBlocks(prefill) === 0 && usedBlocks(decode) === 0, 2000, 'blocks back to baseline');
        });
      }

      test('a second request sharing a long prefix transfers only what the decode worker lacks', async () => {
        const shared = promptOf(24, 30); // 6 blocks of 4
        const first = await run([...shared, ...promptOf(5, 31)]);
        assert.equal(first.prefill?.transferredTokens, 29);
        const prompt = [...shared, ...promptOf(6, 32)];
        const second = await run(prompt);
        // The decode worker caches the 6 shared blocks from the first request: 24 tokens stay home.
        assert.equal(second.prefill?.transferredTokens, 30 - 24);
        assert.equal(second.usage?.cachedTokens, 24);
        assert.deepEqual(second.tokens, await expectedTokens(model.dir, prompt, GREEDY));
      });

      test('cancellation mid-stream ends with ABORT and frees blocks on both workers', async () => {
        const requestId = uniqueId('cancel');
        let cancelled = false;
        const r = await run(promptOf(16, 40), { ...GREEDY, maxTokens: 200 }, {
          requestId,
          onChunk: (c) => {
            if (cancelled || c.tokens.length === 0) return;
            cancelled = true;
            nc.publish(subjects.cancel(requestId), wire.cancelRequest.encode({ requestId, reason: 'client disconnected' }));
          },
        });
        assert.equal(r.finish, FinishReason.ABORT);
        assert.ok(r.tokens.length < 200);
        await eventually(() => usedBlocks(prefill) === 0 && usedBlocks(decode) === 0 && decode.activeRuns === 0, 3000, 'blocks back to baseline');
      });
    });
  }
}
