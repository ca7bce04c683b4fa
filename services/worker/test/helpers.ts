/**
 * Builders for the worker integration tests: seeded model folders, workers on a test's own
 * subjects, a client that talks to workers exactly as the gateway does, and the one-engine
 * expectation every disaggregated answer is compared with.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FinishReason,
  KvTransportKind,
  createLogger,
  requestTyped,
  wire,
  type GeneratedToken,
  type PrefillResult,
  type RunAck,
  type SamplingParams,
  type Subjects,
  type TokenChunk,
  type Usage,
  type WireError,
} from '@duet/core';
import { Engine, createModel, loadModel, type Architecture } from '@duet/engine';
import type { KvFaults } from '@duet/kv-transfer';
import { uniqueId } from '@duet/testkit';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { SamplingParamsSchema } from '@duet/core';
import type { MsgHdrs, NatsConnection } from 'nats';
import { Worker, resolveWorkerConfig, type WorkerConfigInput } from '../src/index.ts';

export const BLOCK_SIZE = 4;
export const NUM_KV_BLOCKS = 96;
export const GREEDY: MessageInitShape<typeof SamplingParamsSchema> = { temperature: 0, topP: 1, maxTokens: 8 };
export const SEEDED: MessageInitShape<typeof SamplingParamsSchema> = { temperature: 0.9, topP: 0.95, seed: 4242, maxTokens: 8 };
export const silent = createLogger('test', { level: 'silent' });

/** A seeded tiny model folder (removed by `cleanup`). */
export async function modelDir(arch: Architecture): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'duet-worker-'));
  const dir = join(root, `tiny-${arch}`);
  await createModel({ arch, preset: 'tiny', seed: 11, outDir: dir });
  return { dir, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export async function startWorker(
  base: { natsUrl: string; subjects: Subjects; modelDir: string },
  input: Partial<WorkerConfigInput> & { role: 'prefill' | 'decode' | 'both' },
  faults?: KvFaults,
): Promise<Worker> {
  const config = resolveWorkerConfig({
    workerId: uniqueId(input.role),
    natsUrl: base.natsUrl,
    subjectPrefix: base.subjects.prefix,
    modelDir: base.modelDir,
    numKvBlocks: NUM_KV_BLOCKS,
    blockSize: BLOCK_SIZE,
    heartbeatIntervalMs: 200,
    transferTimeoutMs: 3000,
    ...input,
  });
  const w = new Worker(config, { defaultMetrics: false, logger: silent, ...(faults ? { faults } : {}) });
  await w.start();
  return w;
}

/** Greedy/seeded tokens of one engine doing everything (the answer every path must give). */
export async function expectedTokens(dir: string, promptIds: number[], sampling: MessageInitShape<typeof SamplingParamsSchema>): Promise<number[]> {
  const engine = await Engine.create(await loadModel(dir), { numKvBlocks: NUM_KV_BLOCKS, blockSize: BLOCK_SIZE });
  const s = { temperature: sampling.temperature ?? 0, topP: sampling.topP ?? 1, seed: sampling.seed ?? 0, maxTokens: sampling.maxTokens ?? 16 };
  const out = engine.generate({ id: 'expected', promptIds, sampling: s, ignoreEos: true }).newTokens.map((t) => t.id);
  engine.dispose();
  return out;
}

/** A deterministic prompt of `n` ids in [3, vocab). */
export function promptOf(n: number, salt = 1, vocab = 1024): number[] {
  return Array.from({ length: n }, (_, i) => 3 + ((i * 37 + salt * 101 + ((i * i) % 11)) % (vocab - 3)));
}

export interface StreamResult {
  ack: RunAck;
  chunks: TokenChunk[];
  tokens: number[];
  finish: FinishReason;
  usage: Usage | undefined;
  error: WireError | undefined;
}

/** Collects the TokenChunk stream of `requestId` until its final chunk. Subscribe before asking. */
export function collectTokens(nc: NatsConnection, subjects: Subjects, requestId: string, onChunk?: (c: TokenChunk) => void): Promise<TokenChunk[]> {
  const chunks: TokenChunk[] = [];
  return new Promise((resolve) => {
    const sub = nc.subscribe(subjects.tokens(requestId), {
      callback: (_err, msg) => {
        const c = wire.tokenChunk.decode(msg.data);
        chunks.push(c);
        onChunk?.(c);
        if (c.finishReason !== FinishReason.UNSPECIFIED) {
          sub.unsubscribe();
          resolve(chunks);
        }
      },
    });
  });
}

export interface RunOptions {
  promptIds: number[];
  sampling: MessageInitShape<typeof SamplingParamsSchema>;
  decodeWorkerId: string;
  prefillWorkerId?: string;
  transport?: KvTransportKind;
  generated?: GeneratedToken[];
  requestId?: string;
  onChunk?: (c: TokenChunk) => void;
  transferTimeoutMs?: number;
  /** NATS headers for both run requests (trace context). */
  headers?: MsgHdrs;
  /** Served model name ('' = whatever the worker serves). */
  model?: string;
  /** Name a prefill worker in the DecodeRequest but send it no PrefillRequest (a prefill that never comes). */
  skipPrefill?: boolean;
}

/** Does what the gateway does: DecodeRequest (+ PrefillRequest when disaggregated), then the stream. */
export async function runRequest(nc: NatsConnection, subjects: Subjects, o: RunOptions): Promise<StreamResult & { prefill?: PrefillResult }> {
  const requestId = o.requestId ?? uniqueId('req');
  const transferId = uniqueId('xfer');
  const stream = collectTokens(nc, subjects, requestId, o.onChunk);
  await nc.flush();
  const common = { requestId, model: o.model ?? '', promptTokenIds: o.promptIds, sampling: o.sampling as SamplingParams, transferId, transport: o.transport ?? KvTransportKind.NATS, transferTimeoutMs: o.transferTimeoutMs ?? 3000 };
  const decodeReq = { ...common, generated: o.generated ?? [], ...(o.prefillWorkerId ? { prefillWorkerId: o.prefillWorkerId } : {}) };
  const ackP = requestTyped(nc, subjects.decodeRun(o.decodeWorkerId), wire.decodeRequest, decodeReq, wire.runAck, { timeoutMs: 5000, ...(o.headers ? { headers: o.headers } : {}) });
  const prefillP = o.prefillWorkerId && !o.skipPrefill
    ? requestTyped(nc, subjects.prefillRun(o.prefillWorkerId), wire.prefillRequest, { ...common, decodeWorkerId: o.decodeWorkerId }, wire.prefillResult, { timeoutMs: (o.transferTimeoutMs ?? 3000) + 2000, ...(o.headers ? { headers: o.headers } : {}) })
        .catch(() => undefined) // a dead prefill worker never replies; the decode side must cope
    : undefined;
  const ack = await ackP;
  if (!ack.accepted) return { ack, chunks: [], tokens: [], finish: FinishReason.ERROR, usage: undefined, error: ack.error, prefill: await prefillP };
  const chunks = await stream;
  const prefill = await prefillP;
  const last = chunks[chunks.length - 1];
  const tokens = chunks.flatMap((c) => c.tokens.map((t) => t.tokenId));
  return { ack, chunks, tokens, finish: last.finishReason, usage: last.usage, error: last.error, ...(prefill ? { prefill } : {}) };
}

/** Resolves once `cond` holds, polling every few ms (for asynchronous effects with no event to await). */
export async function eventually(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The value of a counter on a worker's /metrics endpoint (0 when absent). */
export async function metricValue(w: Worker, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${w.metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Blocks referenced by requests (0 when nothing is held; cached evictable blocks are free). */
export const usedBlocks = (w: Worker): number => w.engine.stats().blocks.usedBlocks;
