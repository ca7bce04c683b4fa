/** Builders shared by the simulator tests: a hand-made cost model, requests and a recording worker. */
import { hex64, hashTokenBlocks, parseCostModel, SimWorker, type CostModel, type KvEventOps, type SimEngineConfig, type SimRequest, type SimSeq, type WorkerHooks } from '../src/index.ts';

/** step = base + prefillToken·P + decodeSeq·D (no attention term unless given); instant platform. */
export function testCost(step: Partial<CostModel['step']> = {}, more: { bandwidthMBps?: number; latencyMs?: number; routeMs?: number; hopMs?: number; kvBytesPerToken?: number } = {}): CostModel {
  return parseCostModel({
    kind: 'duet-sim-cost-model',
    version: 1,
    model: { name: 'test', layers: 2, hiddenSize: 64, kvHeads: 2, headDim: 16, vocabSize: 1024, maxContextTokens: 2048, kvBytesPerToken: more.kvBytesPerToken ?? 256 },
    step: { baseMs: 10, prefillTokenMs: 1, decodeSeqMs: 2, attentionPairMs: 0, ...step },
    transfer: { transport: 'nats', bandwidthMBps: more.bandwidthMBps ?? 1, latencyMs: more.latencyMs ?? 0 },
    platform: { routeMs: more.routeMs ?? 0, hopMs: more.hopMs ?? 0 },
  });
}

/** A readable block name as a BlockHash (16 hex chars, what the router's index accepts). */
export function hx(name: string): string {
  const [h] = hashTokenBlocks([...name].map((c) => c.charCodeAt(0)).concat(Array(16).fill(0)).slice(0, 16), 16);
  return h ?? hex64(0, 0);
}

export function req(id: string, promptTokens: number, maxTokens: number, blockHashes: string[], arrivalMs = 0): SimRequest {
  return { id, arrivalMs, promptTokens, maxTokens, blockHashes };
}

/** A worker whose steps run on a tiny hand-driven clock; records tokens, chunks and KV events. */
export class Harness implements WorkerHooks {
  readonly tokens: string[] = [];
  readonly chunks: string[] = [];
  readonly kv: KvEventOps[] = [];
  readonly worker: SimWorker;
  private pending: number | null = null;

  constructor(engine: SimEngineConfig, cost: CostModel = testCost(), role: 'prefill' | 'decode' | 'both' = 'both') {
    this.worker = new SimWorker('w', role, engine, cost, this);
    this.worker.state = 'ready';
  }

  scheduleStep(_w: SimWorker, atMs: number): void {
    this.pending = atMs;
  }
  onToken(_w: SimWorker, seq: SimSeq, atMs: number): void {
    this.tokens.push(`${seq.req.id}#${seq.generated}@${atMs}`);
  }
  onPrefillChunk(_w: SimWorker, seq: SimSeq, startMs: number, endMs: number, from: number, to: number): void {
    this.chunks.push(`${seq.req.id}[${from},${to})@${startMs}-${endMs}`);
  }
  onKvEvents(_w: SimWorker, ops: KvEventOps): void {
    if (ops.removed.length || ops.stored.length) this.kv.push(ops);
  }
  onIdle(): void {}

  /** Runs steps until the worker has nothing to run or `untilMs` passes; returns the time reached. */
  runUntilIdle(untilMs = Infinity): number {
    let now = 0;
    while (this.pending !== null && this.pending <= untilMs) {
      now = this.pending;
      this.pending = null;
      this.worker.endStep(now);
    }
    return now;
  }
}
