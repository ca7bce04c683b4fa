/**
 * The engine: continuous batching over a paged KV cache, one `step()` per forward pass.
 *
 *   addRequest ──▶ Scheduler (waiting → running, chunked prefill, preemption)
 *        step() ──▶ ModelRunner.forward(chunks) ──▶ BlockManager.commitTokens ──▶ sample ──▶ outputs
 *
 * The engine is synchronous; a service drives `step()` from its own loop. With `threads` > 1 a step's
 * matmuls are split across worker threads (tensor parallelism, see tfjs/shard-plan.ts), and
 * `step()` still returns only when the whole pass is done.
 * KV transfer hooks: `exportKv` / `beginImport` + `importKv` + `finishImport` move one layer's token
 * range at a time, and `hooks.onLayerStored` reports each layer's new KV as soon as it is written.
 */
import type { LoadedModel } from './model/types.ts';
import { BlockManager, type BlockManagerStats, type KvEvent, type KvSnapshot } from './kv/index.ts';
import { PagedKvStore, type KvRange } from './cache/kv-store.ts';
import { initBackend, type BackendInfo } from './tfjs/backend.ts';
import { ModelRunner, type ForwardChunk, type ParallelOptions } from './tfjs/model-runner.ts';
import { resolveMatmul } from './tfjs/device-weights.ts';
import { Scheduler } from './sched/scheduler.ts';
import { Sequence, type FinishReason } from './sched/sequence.ts';
import type { SamplingParams } from './sampling/params.ts';
import { sampleToken, type SampledToken } from './sampling/sampler.ts';
import { effectiveThreads, parseEngineOptions, type EngineOptions, type EngineOptionsInput } from './engine-options.ts';
import { InvalidRequestError, UnknownRequestError } from './errors.ts';
import { validateRequest, type EngineRequest, type ImportRequest } from './requests.ts';

export interface RequestOutput {
  id: string;
  /** Tokens sampled for this request in this step (or, from `generate`, all of them). */
  newTokens: SampledToken[];
  finished: boolean;
  finishReason: FinishReason | null;
  promptTokens: number;
  /** Prompt tokens served from the prefix cache (or already held when the KV was imported). */
  cachedTokens: number;
  outputTokens: number;
}

export interface StepResult {
  outputs: RequestOutput[];
  scheduledTokens: number;
  preempted: string[];
  /** [layer][expert] tokens routed in this step (MoE), else null. */
  expertCounts: number[][] | null;
}

/** A token range of one sequence whose KV was just written for one layer. */
export interface StoredSpan {
  id: string;
  start: number;
  end: number;
}

export interface EngineHooks {
  /** Fires once per layer per step, after that layer's new KV is in the cache. */
  onLayerStored?: (layer: number, spans: readonly StoredSpan[]) => void;
}

export interface EngineStats {
  running: number;
  waiting: number;
  held: number;
  blocks: BlockManagerStats;
  /** Cumulative [layer][expert] routed tokens since start (MoE), else null. */
  expertTokens: number[][] | null;
  stepsRun: number;
  preemptions: number;
  /** Prompt tokens of waiting or running sequences not yet prefilled (the planner's prefill queue). */
  pendingPromptTokens: number;
}

export class Engine {
  private readonly seqs = new Map<string, Sequence>();
  private arrivals = 0;
  private stepsRun = 0;
  private preemptions = 0;
  private readonly expertTokens: number[][] | null;
  /** During a forward pass: the last layer stored and each scheduled sequence's end position. */
  private inFlight: { layer: number; ends: Map<string, number> } | null = null;

  private constructor(
    readonly model: LoadedModel,
    readonly options: EngineOptions,
    readonly backend: BackendInfo,
    private readonly blocks: BlockManager,
    private readonly store: PagedKvStore,
    private readonly runner: ModelRunner,
    private readonly scheduler: Scheduler,
    private readonly hooks: EngineHooks,
  ) {
    const moe = model.config.moe;
    this.expertTokens = moe ? Array.from({ length: model.config.numLayers }, () => new Array<number>(moe.numExperts).fill(0)) : null;
  }

  static async create(model: LoadedModel, input: EngineOptionsInput = {}, hooks: EngineHooks = {}): Promise<Engine> {
    const options = parseEngineOptions(input);
    const backend = await initBackend(options.backend);
    const c = model.config;
    const shape = { numLayers: c.numLayers, blockSize: options.blockSize, numKvHeads: c.numKvHeads, headDim: c.headDim };
    const numBlocks = options.numKvBlocks ?? Math.max(1, Math.floor((options.kvCacheMiB * 2 ** 20) / PagedKvStore.bytesPerBlock(shape)));
    const blocks = new BlockManager({ numBlocks, blockSize: options.blockSize, hashSalt: options.hashSalt, enablePrefixCaching: options.enablePrefixCaching });
    const threads = effectiveThreads(options, c);
    const store = new PagedKvStore({ ...shape, numBlocks }, { shared: threads > 1 });
    const matmul = resolveMatmul(options.matmul, options.backend);
    const runner = await Engine.runnerFor(model, store, { threads, backend: options.backend, matmul, maxBatchTokens: options.maxBatchTokens });
    const scheduler = new Scheduler({ maxBatchTokens: options.maxBatchTokens, maxRunningSeqs: options.maxRunningSeqs }, blocks);
    const info = { ...backend, threads: backend.name === 'tensorflow' ? backend.threads : runner.threads }; // tensorflow: its own pool
    return new Engine(model, { ...options, numKvBlocks: numBlocks }, info, blocks, store, runner, scheduler, hooks);
  }

  /** A runner on `threads` threads; when the worker threads cannot start, one thread (with a warning). */
  private static async runnerFor(model: LoadedModel, store: PagedKvStore, o: ParallelOptions): Promise<ModelRunner> {
    const single = (): ModelRunner => new ModelRunner(model.config, model.weights, store, o.matmul);
    if (o.threads === 1) return single();
    try {
      return await ModelRunner.create(model.config, model.weights, store, o);
    } catch (err) {
      process.emitWarning(`engine: ${o.threads} threads requested, running on 1: ${(err as Error).message}`, 'DuetEngineWarning');
      return single();
    }
  }

  get numKvBlocks(): number {
    return this.store.shape.numBlocks;
  }

  /** Queues a request. Throws InvalidRequestError (naming the field) for one it cannot run. */
  addRequest(req: EngineRequest): void {
    const seq = this.newSequence(req, validateRequest(req, this.model.config, this.store.shape));
    this.scheduler.add(seq);
  }

  private newSequence(req: EngineRequest, sampling: SamplingParams): Sequence {
    if (this.seqs.has(req.id)) throw new InvalidRequestError('id', `request id ${req.id} is already in use`);
    const seq = new Sequence(req.id, [...req.promptIds], sampling, req.salt, this.arrivals++, req.holdKv ?? false);
    this.seqs.set(req.id, seq);
    return seq;
  }

  hasWork(): boolean {
    return this.scheduler.hasWork();
  }

  /** Cancels a request wherever it is and frees its KV blocks. False if unknown. */
  abort(id: string): boolean {
    const seq = this.seqs.get(id);
    if (!seq) return false;
    this.scheduler.remove(seq);
    this.dropSequence(seq, 'abort');
    return true;
  }

  private dropSequence(seq: Sequence, reason: FinishReason | null): void {
    this.blocks.freeSequence(seq.id);
    this.seqs.delete(seq.id);
    seq.status = 'finished';
    seq.finishReason ??= reason;
  }

  /** One scheduler iteration: schedule, run one forward pass, sample, finish. */
  step(): StepResult {
    const { chunks, preempted } = this.scheduler.schedule();
    this.preemptions += preempted.length;
    if (chunks.length === 0) return { outputs: [], scheduledTokens: 0, preempted: preempted.map((s) => s.id), expertCounts: null };
    const fwd: ForwardChunk[] = chunks.map(({ seq, n }) => ({
      tokenIds: seq.tokens(seq.numComputed, seq.numComputed + n),
      start: seq.numComputed,
      blockTable: this.blocks.blockTable(seq.id),
      wantLogits: seq.numComputed + n === seq.numTokens,
    }));
    const spans = chunks.map(({ seq, n }) => ({ id: seq.id, start: seq.numComputed, end: seq.numComputed + n }));
    const res = this.forwardWithHooks(fwd, spans);
    this.stepsRun++;
    this.addExpertCounts(res.expertCounts);
    const outputs: RequestOutput[] = [];
    let li = 0;
    chunks.forEach(({ seq, n }, i) => {
      this.blocks.commitTokens(seq.id, fwd[i].tokenIds);
      seq.numComputed += n;
      if (!fwd[i].wantLogits) return;
      const tok = sampleToken(res.logits[li++], seq.sampling, seq.output.length);
      seq.output.push(tok);
      this.checkFinished(seq, tok.id);
      outputs.push(this.outputOf(seq, [tok]));
    });
    const scheduledTokens = chunks.reduce((a, c) => a + c.n, 0);
    return { outputs, scheduledTokens, preempted: preempted.map((s) => s.id), expertCounts: res.expertCounts };
  }

  /** Runs the pass; while hooks run, layers already stored are exportable up to the new end. */
  private forwardWithHooks(fwd: ForwardChunk[], spans: StoredSpan[]): ReturnType<ModelRunner['forward']> {
    const onLayerStored = this.hooks.onLayerStored;
    if (!onLayerStored) return this.runner.forward(fwd);
    this.inFlight = { layer: -1, ends: new Map(spans.map((s) => [s.id, s.end])) };
    try {
      return this.runner.forward(fwd, {
        onLayerStored: (l) => {
          this.inFlight!.layer = l;
          onLayerStored(l, spans);
        },
      });
    } finally {
      this.inFlight = null;
    }
  }

  private addExpertCounts(counts: number[][] | null): void {
    if (!counts || !this.expertTokens) return;
    counts.forEach((row, l) => row.forEach((v, e) => (this.expertTokens![l][e] += v)));
  }

  private checkFinished(seq: Sequence, lastId: number): void {
    let reason: FinishReason | null = null;
    if (seq.sampling.stopTokenIds.includes(lastId)) reason = 'stop';
    else if (seq.output.length >= seq.sampling.maxTokens || seq.numTokens >= this.model.config.maxPositionEmbeddings) reason = 'length';
    if (!reason) return;
    seq.finishReason = reason;
    this.scheduler.remove(seq);
    if (seq.holdKv) seq.status = 'held';
    else this.dropSequence(seq, reason);
  }

  private outputOf(seq: Sequence, newTokens: SampledToken[]): RequestOutput {
    return {
      id: seq.id,
      newTokens,
      finished: seq.finishReason !== null,
      finishReason: seq.finishReason,
      promptTokens: seq.prompt.length,
      cachedTokens: seq.cachedPromptTokens ?? 0,
      outputTokens: seq.output.length,
    };
  }

  /**
   * Runs steps until `req` finishes and returns all its tokens. Other queued requests advance too.
   * Throws if the engine stops making progress on it.
   */
  generate(req: EngineRequest): RequestOutput {
    this.addRequest(req);
    const tokens: SampledToken[] = [];
    for (;;) {
      const r = this.step();
      const mine = r.outputs.find((o) => o.id === req.id);
      if (mine) {
        tokens.push(...mine.newTokens);
        if (mine.finished) return { ...mine, newTokens: tokens };
      }
      if (r.scheduledTokens === 0) throw new Error(`engine stalled with request ${req.id} unfinished`);
    }
  }

  // ---- KV transfer -------------------------------------------------------------------------

  private seqFor(id: string, states: readonly Sequence['status'][]): Sequence {
    const seq = this.seqs.get(id);
    if (!seq || !states.includes(seq.status)) throw new UnknownRequestError(id, `request ${id} is not ${states.join(' or ')}`);
    return seq;
  }

  /**
   * K/V of one layer for positions [from, to) of a running or held request, each [n, K, D]. Inside
   * `onLayerStored`, the layers stored so far are readable up to the end of this step's chunk.
   */
  exportKv(id: string, layer: number, from: number, to: number): KvRange {
    const seq = this.seqFor(id, ['running', 'held']);
    const f = this.inFlight;
    const limit = f && layer <= f.layer ? (f.ends.get(id) ?? seq.numComputed) : seq.numComputed;
    if (from < 0 || to > limit || from > to) throw new RangeError(`exportKv ${id}: range ${from}…${to} outside computed 0…${limit}`);
    return this.store.read(layer, this.blocks.blockTable(id), from, to - from);
  }

  /**
   * Starts receiving a request whose prompt was prefilled elsewhere: reserves blocks for the
   * prompt, reusing the longest prefix this engine already caches. Returns how many prompt tokens
   * are already here — the sender ships only positions from there on.
   */
  beginImport(req: ImportRequest): { cachedTokens: number } {
    const sampling = validateRequest(req, this.model.config, this.store.shape);
    if (req.generated.length >= sampling.maxTokens) {
      throw new InvalidRequestError('generated', `an imported request may carry at most ${sampling.maxTokens - 1} generated tokens`);
    }
    const seq = this.newSequence(req, sampling);
    seq.output.push(...req.generated);
    const { cachedTokens } = this.blocks.openSequence(seq.id, [...req.promptIds], { salt: req.salt, allowFullPrefix: true });
    if (!this.blocks.allocateSlots(seq.id, req.promptIds.length)) {
      this.dropSequence(seq, 'abort');
      throw new InvalidRequestError('prompt', `no KV capacity for ${req.promptIds.length} prompt tokens`);
    }
    seq.status = 'importing';
    seq.cachedPromptTokens = cachedTokens;
    return { cachedTokens };
  }

  /** Writes one layer's K/V ([n, K, D] each) at prompt positions from … from+n-1. */
  importKv(id: string, layer: number, from: number, range: KvRange): void {
    const seq = this.seqFor(id, ['importing']);
    const n = range.k.length / this.store.slotFloats;
    if (from < 0 || from + n > seq.prompt.length) throw new RangeError(`importKv ${id}: range ${from}…${from + n} outside prompt`);
    this.store.write(layer, this.blocks.blockTable(id), from, range);
  }

  /**
   * All layers of the prompt are in: the request joins continuous batching as a decode. `generated`
   * appends tokens the sender sampled (the first token usually arrives with the transfer's end);
   * the request must then hold at least one generated token.
   */
  finishImport(id: string, generated: readonly SampledToken[] = []): void {
    const seq = this.seqFor(id, ['importing']);
    if (seq.output.length + generated.length === 0) throw new InvalidRequestError('generated', `import ${id} finished without a first token`);
    if (seq.output.length + generated.length >= seq.sampling.maxTokens) {
      throw new InvalidRequestError('generated', `import ${id} carries ${seq.output.length + generated.length} tokens; max_tokens is ${seq.sampling.maxTokens}`);
    }
    seq.output.push(...generated);
    const cached = seq.cachedPromptTokens ?? 0;
    this.blocks.commitTokens(id, seq.prompt.slice(cached));
    seq.numComputed = seq.prompt.length;
    this.scheduler.addRunning(seq);
  }

  /** Frees a held (finished, kept for export) or importing request. False if unknown. */
  release(id: string): boolean {
    const seq = this.seqs.get(id);
    if (!seq || (seq.status !== 'held' && seq.status !== 'importing')) return false;
    this.dropSequence(seq, null);
    return true;
  }

  // ---- cache state for routers ------------------------------------------------------------------

  onKvEvent(listener: (e: KvEvent) => void): () => void {
    return this.blocks.onEvent(listener);
  }

  kvSnapshot(): KvSnapshot {
    return this.blocks.snapshot();
  }

  /** Leading prompt blocks (by chained hash) this engine caches now. */
  cachedPrefixBlocks(hashes: readonly string[]): number {
    return this.blocks.cachedPrefixBlocks(hashes);
  }

  stats(): EngineStats {
    let held = 0;
    let pendingPromptTokens = 0;
    for (const s of this.seqs.values()) {
      if (s.status === 'held') held++;
      else if (s.status === 'waiting' || s.status === 'running') pendingPromptTokens += Math.max(0, s.prompt.length - s.numComputed);
    }
    return {
      running: this.scheduler.numRunning,
      waiting: this.scheduler.numWaiting,
      held,
      blocks: this.blocks.stats(),
      expertTokens: this.expertTokens?.map((r) => [...r]) ?? null,
      stepsRun: this.stepsRun,
      preemptions: this.preemptions,
      pendingPromptTokens,
    };
  }

  dispose(): void {
    this.runner.dispose();
  }
}
