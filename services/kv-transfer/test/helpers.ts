/** Shared builders for the kv-transfer integration tests: models, engines, offers, transport pairs. */
import { create } from '@bufbuild/protobuf';
import { KvDtype, KvTransferOfferSchema, type KvTransferOffer, type Subjects } from '@duet/core';
import { Engine, hashPromptBlocks, type EngineHooks, type LoadedModel } from '@duet/engine';
import { uniqueId } from '@duet/testkit';
import { connect, type NatsConnection } from 'nats';
import { makeRandomModel, type RandomModelSpec } from '../../engine/test/reference/fixtures.ts';
import { NatsKvTransport } from '../src/nats-transport.ts';
import type { KvTransferOptionsInput } from '../src/options.ts';
import { TcpKvTransport } from '../src/tcp-transport.ts';
import type { KvSlice, KvTransport } from '../src/types.ts';

export const BLOCK_SIZE = 4;
export const ARCHS: readonly RandomModelSpec[] = [{ arch: 'llama' }, { arch: 'moe' }];
export type TransportName = 'nats' | 'tcp';
export const TRANSPORTS: readonly TransportName[] = ['nats', 'tcp'];

export function randomLoaded(spec: RandomModelSpec, seed = 7): LoadedModel {
  const { config, weights } = makeRandomModel(spec, seed);
  return { dir: '(memory)', config, weights, weightBytesOnDisk: 0 };
}

export function engineFor(model: LoadedModel, hooks: EngineHooks = {}): Promise<Engine> {
  return Engine.create(model, { numKvBlocks: 64, blockSize: BLOCK_SIZE }, hooks);
}

/** A deterministic prompt of `n` ids in [3, vocab). */
export function promptOf(n: number, vocab: number, salt = 1): number[] {
  return Array.from({ length: n }, (_, i) => 3 + ((i * 31 + salt * 17 + ((i * i) % 7)) % (vocab - 3)));
}

export function offerFor(model: LoadedModel, promptIds: readonly number[], timeoutMs = 5000): KvTransferOffer {
  const c = model.config;
  return create(KvTransferOfferSchema, {
    transferId: uniqueId('x'),
    requestId: 'r',
    senderWorkerId: 'prefill-0',
    layout: { numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim, dtype: KvDtype.F32, blockSize: BLOCK_SIZE },
    promptTokens: promptIds.length,
    blockHashes: hashPromptBlocks(promptIds, BLOCK_SIZE),
    timeoutMs,
  });
}

/** A sender and a receiver transport of one kind, each on its own NATS connection. */
export interface Pair {
  sender: KvTransport;
  receiver: KvTransport;
  receiverNc: NatsConnection;
  close(): Promise<void>;
}

export async function pairOf(kind: TransportName, url: string, subjects: Subjects, options: KvTransferOptionsInput = {}): Promise<Pair> {
  const [a, b]: NatsConnection[] = await Promise.all([connect({ servers: url }), connect({ servers: url })]);
  const make = (nc: NatsConnection): KvTransport => (kind === 'nats' ? new NatsKvTransport(nc, subjects, options) : new TcpKvTransport(nc, subjects, options));
  const sender = make(a);
  const receiver = make(b);
  return {
    sender,
    receiver,
    receiverNc: b,
    async close() {
      await Promise.all([sender.close(), receiver.close()]);
      await Promise.all([a.drain(), b.drain()]);
    },
  };
}

/** Random K/V for `layers` layers of `tokens` tokens ([T, K, D] each), one slice per layer. */
export function randomSlices(layers: number, tokens: number, tokenFloats: number, seed = 1): KvSlice[] {
  let s = seed;
  const next = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
  return Array.from({ length: layers }, (_, layer) => ({
    layer,
    tokenStart: 0,
    tokenEnd: tokens,
    k: Float32Array.from({ length: tokens * tokenFloats }, next),
    v: Float32Array.from({ length: tokens * tokenFloats }, next),
  }));
}
