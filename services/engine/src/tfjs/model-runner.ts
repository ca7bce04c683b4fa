/**
 * One forward pass over a flattened batch of sequence chunks (vLLM-style: all new tokens of all
 * sequences concatenated on the token axis), reading and writing the paged KV store.
 *
 * Legend: T new tokens in the batch · E hidden · V vocab · R rows that want logits
 *
 *   ids [T] → embedding rows x [T, E] → L × { x += attention(x); x += mlp(x) } → final norm → logits
 *
 * The residual stream x lives on the host. Each block is computed by the shards (shard-plan.ts):
 * shard 0 on this thread, the others in worker threads (`ModelRunner.create` with threads > 1), all
 * at once; x then gains the sum of their partial outputs. After a layer's attention every shard has
 * written its kv heads of the new tokens into the store, so `onLayerStored(layer)` fires there and a
 * prefill worker can ship that layer's KV while the next layers compute. Logits are computed only for
 * the rows that need them (the last token of a chunk that completes its prompt, or a decode token),
 * each shard for its vocabulary slice.
 */
import type { ModelConfig, ModelWeights } from '../model/types.ts';
import type { PagedKvStore } from '../cache/kv-store.ts';
import { RemoteShard, ShardWorkerError } from '../parallel/remote-shard.ts';
import type { BackendName } from './backend.ts';
import type { MatmulKind } from './device-weights.ts';
import { addParts, rmsNormRows, ropeTables } from './host-ops.ts';
import { ShardCompute, type StepPlan } from './shard-compute.ts';
import { planShards, sliceWeights, type ShardSpec } from './shard-plan.ts';

/** One sequence's share of a batch. */
export interface ForwardChunk {
  /** Token ids to run, at positions start … start+n-1. */
  tokenIds: readonly number[];
  start: number;
  blockTable: readonly number[];
  /** Return logits for the last token of this chunk. */
  wantLogits: boolean;
}

export interface ForwardResult {
  /** One [V] array per chunk with wantLogits, in chunk order. */
  logits: Float32Array[];
  /** [layer][expert] tokens routed in this pass (MoE), else null. */
  expertCounts: number[][] | null;
}

export interface ForwardHooks {
  /** Called once per layer after that layer's new K/V are in the store. */
  onLayerStored?: (layer: number) => void;
}

export interface ParallelOptions {
  /** Threads to compute with (shards; capped by planShards). */
  threads: number;
  backend: BackendName;
  matmul: MatmulKind;
  /** Tokens one pass usually runs (sizes the shared buffers; a bigger pass grows them). */
  maxBatchTokens: number;
}

/** Shared buffers of the worker shards: one input, one output per worker. */
interface Channels {
  tokens: number;
  rows: number;
  input: SharedArrayBuffer;
  outputs: SharedArrayBuffer[];
}

export class ModelRunner {
  private readonly local: ShardCompute;
  private seq = 0;
  private broken: Error | null = null;

  /** A single-threaded runner (all shards' work on this thread); `create` spreads it over threads. */
  constructor(
    readonly config: ModelConfig,
    private readonly weights: ModelWeights,
    private readonly store: PagedKvStore,
    /** Which matmul path runs the weight matrices (device-weights.ts). */
    matmul: MatmulKind = 'wasm-simd',
    specs: ShardSpec[] = planShards(config, 1),
    private readonly remotes: RemoteShard[] = [],
    private channels: Channels | null = null,
  ) {
    const rope = ropeTables(config.maxPositionEmbeddings, config.headDim, config.ropeTheta);
    this.local = new ShardCompute(config, specs[0], sliceWeights(config, weights, specs[0]), store, rope, matmul);
  }

  /**
   * A runner over min(threads, shardable) threads: shard 0 here, one worker thread per other shard.
   * The store must be shared (`new PagedKvStore(shape, { shared: true })`) when threads > 1.
   * Rejects with ShardWorkerError when a worker cannot start.
   */
  static async create(config: ModelConfig, weights: ModelWeights, store: PagedKvStore, o: ParallelOptions): Promise<ModelRunner> {
    const specs = planShards(config, o.threads);
    if (specs.length === 1) return new ModelRunner(config, weights, store, o.matmul);
    if (!store.shared) throw new RangeError('ModelRunner.create: threads > 1 needs a shared PagedKvStore');
    const channels = allocChannels(config, specs, o.maxBatchTokens, 8);
    const started = await Promise.allSettled(
      specs.slice(1).map((spec, i) =>
        RemoteShard.spawn({ backend: o.backend, matmul: o.matmul, config, spec, weights: sliceWeights(config, weights, spec), store, input: channels.input, output: channels.outputs[i] }),
      ),
    );
    const remotes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      remotes.forEach((r) => r.terminate());
      throw failed.reason;
    }
    return new ModelRunner(config, weights, store, o.matmul, specs, remotes, channels);
  }

  /** Threads this runner computes with. */
  get threads(): number {
    return 1 + this.remotes.length;
  }

  dispose(): void {
    this.local.dispose();
    this.remotes.forEach((r) => r.terminate());
  }

  forward(chunks: readonly ForwardChunk[], hooks: ForwardHooks = {}): ForwardResult {
    if (this.broken) throw this.broken;
    const c = this.config;
    const plan = planStep(chunks, c.maxPositionEmbeddings);
    const logitRows = logitRowsOf(chunks);
    const expertCounts = c.moe ? Array.from({ length: c.numLayers }, () => new Array<number>(c.moe!.numExperts).fill(0)) : null;
    const grown = this.remotes.length > 0 ? this.ensureCapacity(plan.T, logitRows.length) : false;
    const x = this.embed(chunks, plan.T);
    this.remotes.forEach((r, i) => r.beginStep(plan, c.numLayers, logitRows.length, grown ? { input: this.channels!.input, output: this.channels!.outputs[i] } : undefined));
    const phasesBefore = this.seq;
    try {
      for (let l = 0; l < c.numLayers; l++) {
        this.phase(x, plan.T, () => this.local.attention(l, x, plan), (parts) => addParts(x, parts, plan.T * c.hiddenSize));
        hooks.onLayerStored?.(l);
        this.phase(x, plan.T, () => this.local.mlp(l, x, plan, expertCounts?.[l] ?? null), (parts) => addParts(x, parts, plan.T * c.hiddenSize));
      }
      return { logits: this.logits(x, logitRows), expertCounts };
    } catch (err) {
      this.abortStep(phasesBefore, logitRows.length, err);
      throw err;
    } finally {
      this.local.endStep();
    }
  }

  /** ids → x [T, E] (in the shared input buffer when there are workers: they read x from it). */
  private embed(chunks: readonly ForwardChunk[], T: number): Float32Array {
    const E = this.config.hiddenSize;
    const x = this.channels ? new Float32Array(this.channels.input, 0, T * E) : new Float32Array(T * E);
    const table = this.weights.embed.data;
    let t = 0;
    for (const ch of chunks) for (const id of ch.tokenIds) x.set(table.subarray(id * E, (id + 1) * E), (t++) * E);
    return x;
  }

  /**
   * One phase on every shard: workers read `input` from the shared buffer (x already lives there;
   * other inputs are copied in), this thread runs `mine`, then `combine` gets every shard's output
   * in shard order.
   */
  private phase(input: Float32Array, rows: number, mine: () => Float32Array, combine: (parts: Float32Array[]) => void): void {
    if (this.remotes.length === 0) return combine([mine()]);
    const shared = new Float32Array(this.channels!.input, 0, rows * this.config.hiddenSize);
    if (input.buffer !== shared.buffer) shared.set(input.subarray(0, shared.length));
    const seq = ++this.seq;
    this.remotes.forEach((r) => r.start(seq));
    const own = mine();
    combine([own, ...this.remotes.map((r) => r.result(seq))]);
  }

  /** Final norm + LM head on the rows that want logits; each shard fills its vocabulary slice. */
  private logits(x: Float32Array, rows: number[]): Float32Array[] {
    if (rows.length === 0) return [];
    const c = this.config;
    const E = c.hiddenSize;
    const picked = new Float32Array(rows.length * E);
    rows.forEach((r, i) => picked.set(x.subarray(r * E, (r + 1) * E), i * E));
    const normed = new Float32Array(picked.length);
    rmsNormRows(picked, rows.length, this.weights.finalNorm.data, c.rmsNormEps, normed);
    const out = rows.map(() => new Float32Array(c.vocabSize));
    const shards = [this.local.spec, ...this.remotes.map((r) => r.spec)];
    this.phase(normed, rows.length, () => this.local.logits(normed, rows.length), (parts) =>
      parts.forEach((p, s) => {
        const { from, to } = shards[s].vocab;
        out.forEach((row, i) => row.set(p.subarray(i * (to - from), (i + 1) * (to - from)), from));
      }),
    );
    return out;
  }

  /** Grows the shared buffers for a step of T tokens and R logit rows; true when they changed. */
  private ensureCapacity(T: number, R: number): boolean {
    const ch = this.channels!;
    if (T <= ch.tokens && R <= ch.rows) return false;
    const specs = [this.local.spec, ...this.remotes.map((r) => r.spec)];
    this.channels = allocChannels(this.config, specs, Math.max(T, ch.tokens), Math.max(R, ch.rows));
    return true;
  }

  /**
   * After a failure mid-step: brings the workers back to waiting for the next step. A failed worker
   * (or one that cannot be brought back) leaves the runner broken: every later pass throws.
   */
  private abortStep(phasesBefore: number, R: number, err: unknown): void {
    if (this.remotes.length === 0) return;
    if (err instanceof ShardWorkerError) {
      this.broken = err;
      return;
    }
    if (this.seq - phasesBefore >= 2 * this.config.numLayers + (R > 0 ? 1 : 0)) return; // step had finished
    try {
      const seq = ++this.seq;
      this.remotes.forEach((r) => r.abort(seq));
    } catch (abortErr) {
      this.broken = new Error(`engine threads are out of step after a failed pass (${(err as Error).message})`, { cause: abortErr });
    }
  }
}

function allocChannels(config: ModelConfig, specs: ShardSpec[], tokens: number, rows: number): Channels {
  const E = config.hiddenSize;
  const outFloats = (s: ShardSpec): number => Math.max(tokens * E, rows * (s.vocab.to - s.vocab.from));
  return {
    tokens,
    rows,
    input: new SharedArrayBuffer(Math.max(tokens, rows) * E * 4),
    outputs: specs.slice(1).map((s) => new SharedArrayBuffer(outFloats(s) * 4)),
  };
}

/** Rows (flattened token index) of the chunks that want logits: each chunk's last token. */
function logitRowsOf(chunks: readonly ForwardChunk[]): number[] {
  const rows: number[] = [];
  let end = 0;
  for (const ch of chunks) {
    end += ch.tokenIds.length;
    if (ch.wantLogits) rows.push(end - 1);
  }
  return rows;
}

/** Positions and row offsets of a batch; throws past max_position_embeddings. */
function planStep(chunks: readonly ForwardChunk[], maxPositions: number): StepPlan {
  const T = chunks.reduce((a, ch) => a + ch.tokenIds.length, 0);
  const positions = new Int32Array(T);
  let row = 0;
  const out: StepPlan['chunks'] = [];
  for (const ch of chunks) {
    const n = ch.tokenIds.length;
    for (let i = 0; i < n; i++) positions[row + i] = ch.start + i;
    if (ch.start + n - 1 >= maxPositions) {
      throw new RangeError(`position ${ch.start + n - 1} exceeds max_position_embeddings ${maxPositions}`);
    }
    out.push({ start: ch.start, n, row, blockTable: [...ch.blockTable] });
    row += n;
  }
  return { T, positions, chunks: out };
}
