/**
 * Failure semantics of the disaggregated path: a lost chunk, a corrupt chunk, a prefill worker
 * that dies mid-transfer and a prefill that never comes all end in the correct answer through
 * local prefill on the decode worker (counted in transfer_fallbacks_total), with no blocks
 * stranded on either side; cancelling while the KV is still in flight aborts the transfer.
 * Faults are injected through the KV transport's fault hook on the sending worker.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FinishReason, requestTyped, wire } from '@duet/core';
import type { KvFaults } from '@duet/kv-transfer';
import { uniqueId, uniqueSubjects, withServers } from '@duet/testkit';
import { connect, type NatsConnection } from 'nats';
import type { Worker } from '../src/index.ts';
import { GREEDY, SEEDED, collectTokens, eventually, expectedTokens, metricValue, modelDir, promptOf, runRequest, startWorker, usedBlocks } from './helpers.ts';

const servers = withServers();

describe('transfer failures fall back to local prefill', () => {
  const subjects = uniqueSubjects();
  let model: Awaited<ReturnType<typeof modelDir>>;
  let decode: Worker;
  let nc: NatsConnection;
  let expectedFallbacks = 0;
  const base = () => ({ natsUrl: servers.nats.url, subjects, modelDir: model.dir });
  const prefillWith = (faults: KvFaults) => startWorker(base(), { role: 'prefill' }, faults);

  before(async () => {
    model = await modelDir('llama');
    nc = await connect({ servers: servers.nats.url });
    decode = await startWorker(base(), { role: 'decode' });
  });
  after(async () => {
    await decode.stop();
    await nc.drain();
    await model.cleanup();
  });

  /** Runs one disaggregated request through `prefill` and checks the answer and the books. */
  async function expectFallback(prefill: Worker, salt: number, opts: Partial<Parameters<typeof runRequest>[2]> = {}): Promise<void> {
    const prompt = promptOf(17, salt);
    const r = await runRequest(nc, subjects, { promptIds: prompt, sampling: SEEDED, decodeWorkerId: decode.config.workerId, prefillWorkerId: prefill.config.workerId, ...opts });
    assert.deepEqual(r.tokens, await expectedTokens(model.dir, prompt, SEEDED), 'the local prefill gives the same answer');
    assert.equal(r.finish, FinishReason.LENGTH);
    expectedFallbacks++;
    assert.equal(await metricValue(decode, 'duet_decode_transfer_fallbacks_total'), expectedFallbacks);
    await eventually(() => usedBlocks(decode) === 0 && decode.activeRuns === 0, 3000, 'decode blocks back to baseline');
  }

  test('a lost chunk (sequence gap)', async () => {
    const prefill = await prefillWith({ dropChunk: (seq) => seq === 0 });
    await expectFallback(prefill, 50);
    await eventually(() => usedBlocks(prefill) === 0, 3000, 'prefill blocks released');
    await prefill.stop();
  });

  test('a corrupt chunk (checksum mismatch)', async () => {
    const prefill = await prefillWith({ corruptChunk: (seq) => seq === 0 });
    await expectFallback(prefill, 51);
    await eventually(() => usedBlocks(prefill) === 0, 3000, 'prefill blocks released');
    await prefill.stop();
  });

  test('a prefill worker killed mid-transfer (the receiver\u2019s deadline ends it)', async () => {
    const prefill = await prefillWith({ delayMs: 400 });
    const killed = eventually(() => prefill.activeRuns === 1 && prefill.engine.stats().held === 1, 5000, 'KV held mid-transfer').then(() => prefill.stop({ abrupt: true }));
    await expectFallback(prefill, 52, { transferTimeoutMs: 1500 });
    await killed;
  });

  test('a prefill that never comes (no offer within the deadline)', async () => {
    const ghost = { config: { workerId: uniqueId('ghost') } } as Worker;
    await expectFallback(ghost, 53, { skipPrefill: true, transferTimeoutMs: 300 });
  });

  test('an offer that arrives before its DecodeRequest waits for it (no fallback)', async () => {
    const prefill = await prefillWith({});
    const prompt = promptOf(17, 55);
    const common = { model: '', promptTokenIds: prompt, sampling: GREEDY, transferId: uniqueId('xfer'), transferTimeoutMs: 3000 };
    const requestId = uniqueId('early');
    const stream = collectTokens(nc, subjects, requestId);
    await nc.flush();
    const prefillReq = { ...common, requestId, decodeWorkerId: decode.config.workerId };
    const result = requestTyped(nc, subjects.prefillRun(prefill.config.workerId), wire.prefillRequest, prefillReq, wire.prefillResult, { timeoutMs: 5000 });
    await eventually(() => prefill.engine.stats().held === 1, 3000, 'prefill done, offer waiting');
    const decodeReq = { ...common, requestId, prefillWorkerId: prefill.config.workerId };
    const ack = await requestTyped(nc, subjects.decodeRun(decode.config.workerId), wire.decodeRequest, decodeReq, wire.runAck, { timeoutMs: 2000 });
    assert.ok(ack.accepted);
    const tokens = (await stream).flatMap((c) => c.tokens.map((t) => t.tokenId));
    assert.deepEqual(tokens, await expectedTokens(model.dir, prompt, GREEDY));
    assert.equal((await result).transferredTokens, 17);
    assert.equal(await metricValue(decode, 'duet_decode_transfer_fallbacks_total'), expectedFallbacks);
    await eventually(() => usedBlocks(prefill) === 0 && usedBlocks(decode) === 0, 3000, 'both back to baseline');
    await prefill.stop();
  });

  test('held KV whose decode request never comes is reclaimed by the transfer deadline', async () => {
    const prefill = await prefillWith({});
    const req = { requestId: uniqueId('orphan'), promptTokenIds: promptOf(13, 56), sampling: GREEDY, transferId: uniqueId('xfer'), transferTimeoutMs: 300, decodeWorkerId: decode.config.workerId };
    const result = await requestTyped(nc, subjects.prefillRun(prefill.config.workerId), wire.prefillRequest, req, wire.prefillResult, { timeoutMs: 3000 });
    assert.equal(result.transferredTokens, 0, 'nothing moved');
    assert.ok(result.firstToken, 'the prefill itself succeeded');
    assert.equal(usedBlocks(prefill), 0, 'the held KV is free once the reply is sent');
    await prefill.stop();
  });

  test('cancelling while the KV is in flight aborts the transfer; nothing is stranded', async () => {
    const prefill = await prefillWith({ delayMs: 300 });
    const requestId = uniqueId('cancel');
    const cancelWhenHeld = eventually(() => prefill.engine.stats().held === 1, 5000, 'KV held').then(() =>
      nc.publish(subjects.cancel(requestId), wire.cancelRequest.encode({ requestId, reason: 'client disconnected' })),
    );
    const r = await runRequest(nc, subjects, { promptIds: promptOf(15, 54), sampling: GREEDY, decodeWorkerId: decode.config.workerId, prefillWorkerId: prefill.config.workerId, requestId });
    await cancelWhenHeld;
    assert.equal(r.finish, FinishReason.ABORT);
    assert.deepEqual(r.tokens, []);
    await eventually(() => usedBlocks(prefill) === 0 && usedBlocks(decode) === 0 && prefill.activeRuns === 0 && decode.activeRuns === 0, 3000, 'both back to baseline');
    assert.equal(await metricValue(decode, 'duet_decode_transfer_fallbacks_total'), expectedFallbacks, 'a cancel is not a fallback');
    await prefill.stop();
  });
});
