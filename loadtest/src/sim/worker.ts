/**
 * A simulated worker: the engine's iteration-level scheduler (services/engine/src/sched/scheduler.ts)
 * over a SimKvCache, timed by the cost model. One event per step, never per token.
 *
 * Each step fills a token budget, as the real scheduler does:
 *   1. every running sequence that is decoding, one token each;
 *   2. running sequences still in their prompt, a chunk each, oldest first;
 *   3. waiting sequences, oldest first, taking what the prefix cache holds and a first chunk of
 *      the rest, while fewer than maxRunningSeqs run; admission stops at the first that does not fit.
 * When the KV cache cannot cover a running sequence, the newest one not yet scheduled is preempted
 * (blocks freed, recomputed later, prompt and generated tokens alike).
 *
 * A sequence's life, by mode:
 *
 *   prefill  (prefill worker)   waiting ─▶ running (chunks) ─▶ held (KV kept for the transfer) ─▶ released
 *   local    (decode or both)   waiting ─▶ running (chunks, then one token per step) ─▶ done
 *   import   (decode worker)    held (blocks reserved, KV arriving) ─▶ running (decoding) ─▶ done
 *
 * A step that completes a sequence's prompt (its prefill target) samples a token: the first token,
 * or, after a preemption, the next one. Token and KV effects happen at the step's end.
 */
import { chunkPairs, stepMs, type CostModel, type StepWork } from './cost-model.ts';
import { SimKvCache, type CachedBlock, type KvEventOps } from './kv-cache.ts';
import type { SimRequest } from './requests.ts';

export interface SimEngineConfig {
  blockSize: number;
  numBlocks: number;
  maxBatchTokens: number;
  maxRunningSeqs: number;
}

export type SimRole = 'prefill' | 'decode' | 'both';
export type SeqMode = 'prefill' | 'local' | 'import';
export type WorkerState = 'starting' | 'ready' | 'draining' | 'stopped';

export class SimSeq {
  status: 'waiting' | 'running' | 'held' | 'done' = 'waiting';
  /** Tokens whose KV this worker holds (prompt first, then generated). */
  computed = 0;
  generated = 0;
  /** Tokens to compute before the next token is sampled: the prompt, or prompt + generated after a preemption. */
  prefillTarget: number;
  /** Prompt tokens found in this worker's cache when admitted (or pinned, for an import). */
  cachedTokens = 0;
  blocks: CachedBlock[] = [];
  privateBlocks = 0;
  /** Prompt full blocks already registered (or found duplicate). */
  registered = 0;
  preemptions = 0;

  constructor(
    readonly req: SimRequest,
    readonly mode: SeqMode,
    /** Scheduler order (the engine's arrival counter). */
    readonly order: number,
  ) {
    this.prefillTarget = req.promptTokens;
  }

  get decoding(): boolean {
    return this.computed >= this.prefillTarget;
  }

  get allocatedBlocks(): number {
    return this.blocks.length + this.privateBlocks;
  }
}

export interface Chunk {
  seq: SimSeq;
  /** Tokens run: positions start … start + n − 1. */
  start: number;
  n: number;
}

export interface WorkerHooks {
  /** Schedule this worker's step end. */
  scheduleStep(worker: SimWorker, atMs: number): void;
  /** A token was sampled for `seq` at the end of a step. */
  onToken(worker: SimWorker, seq: SimSeq, atMs: number): void;
  /** A prefill-mode chunk ran during [startMs, endMs]: tokens from … to − 1 (for the layer-wise transfer). */
  onPrefillChunk(worker: SimWorker, seq: SimSeq, startMs: number, endMs: number, from: number, to: number): void;
  /** KV events of one step (evictions first, then stores). */
  onKvEvents(worker: SimWorker, ops: KvEventOps): void;
  /** The worker holds nothing any more (a draining worker may stop). */
  onIdle(worker: SimWorker): void;
}

export interface WorkerStats {
  steps: number;
  busyMs: number;
  preemptions: number;
  prefillTokens: number;
  decodeTokens: number;
}

export class SimWorker {
  state: WorkerState = 'starting';
  readonly cache: SimKvCache;
  private readonly waiting: SimSeq[] = [];
  private readonly running: SimSeq[] = [];
  private held = 0;
  private stepChunks: Chunk[] | null = null;
  private stepStartMs = 0;
  readonly stats: WorkerStats = { steps: 0, busyMs: 0, preemptions: 0, prefillTokens: 0, decodeTokens: 0 };

  constructor(
    readonly id: string,
    readonly role: SimRole,
    readonly engine: SimEngineConfig,
    private readonly cost: CostModel,
    private readonly hooks: WorkerHooks,
  ) {
    this.cache = new SimKvCache(engine.numBlocks);
  }

  get numWaiting(): number {
    return this.waiting.length;
  }

  get numRunning(): number {
    return this.running.length;
  }

  /** Sequences held, running or waiting. */
  get heldWork(): number {
    return this.waiting.length + this.running.length + this.held;
  }

  /** Prompt tokens of waiting or running sequences not yet computed (LoadReport.inflightPrefillTokens). */
  pendingPromptTokens(): number {
    let n = 0;
    for (const s of this.waiting) n += Math.max(0, s.prefillTarget - s.computed);
    for (const s of this.running) n += Math.max(0, s.prefillTarget - s.computed);
    return n;
  }

  /** A prompt to compute here (prefill or local mode). */
  submit(seq: SimSeq, nowMs: number): void {
    seq.status = 'waiting';
    this.waiting.push(seq);
    this.kick(nowMs);
  }

  /**
   * An import arrives: pin the longest cached prefix (whole blocks, nothing left to compute is
   * fine) and reserve blocks for the rest of the prompt. False when the cache cannot hold it.
   */
  beginImport(seq: SimSeq): boolean {
    const S = this.engine.blockSize;
    const hashes = seq.req.blockHashes;
    const hit = this.cache.match(hashes);
    seq.blocks = this.cache.acquire(hashes, hit);
    const need = Math.ceil(seq.req.promptTokens / S) - hit;
    if (!this.cache.allocate(need)) {
      this.cache.release(seq.blocks, 0);
      seq.blocks = [];
      return false;
    }
    seq.privateBlocks = need;
    seq.registered = hit;
    seq.cachedTokens = Math.min(seq.req.promptTokens, hit * S);
    seq.status = 'held';
    this.held++;
    return true;
  }

  /** The import's KV arrived with its first token: register the prompt's blocks and start decoding. */
  completeImport(seq: SimSeq, nowMs: number): void {
    this.held--;
    seq.computed = seq.req.promptTokens;
    seq.generated = 1;
    this.registerPromptBlocks(seq);
    this.hooks.onKvEvents(this, this.cache.takeEvents());
    if (seq.generated >= seq.req.maxTokens) return this.finish(seq);
    this.addRunning(seq);
    this.kick(nowMs);
  }

  /** An import that will not complete (fallback to a local prefill): its blocks go back. */
  abandonImport(seq: SimSeq): void {
    this.held--;
    this.freeSeq(seq);
    seq.status = 'done';
  }

  /** A held prefill-mode sequence whose KV was sent: its blocks go back (hashed ones stay cached). */
  releaseHeld(seq: SimSeq, nowMs: number): void {
    this.held--;
    this.freeSeq(seq);
    seq.status = 'done';
    this.afterChange(nowMs);
  }

  /** Starts a step if none runs and there is something to run. */
  kick(nowMs: number): void {
    if (this.stepChunks || this.state === 'stopped') return;
    const chunks = this.schedule();
    this.hooks.onKvEvents(this, this.cache.takeEvents());
    if (chunks.length === 0) {
      if (this.heldWork === 0) this.hooks.onIdle(this);
      return;
    }
    const work: StepWork = { prefillTokens: 0, decodeSeqs: 0, attentionPairs: 0 };
    for (const c of chunks) {
      if (c.seq.decoding) {
        work.decodeSeqs++;
        work.attentionPairs += c.start + 1;
      } else {
        work.prefillTokens += c.n;
        work.attentionPairs += chunkPairs(c.start, c.n);
      }
    }
    const ms = stepMs(this.cost, work);
    this.stepChunks = chunks;
    this.stepStartMs = nowMs;
    this.stats.steps++;
    this.stats.busyMs += ms;
    this.stats.prefillTokens += work.prefillTokens;
    this.stats.decodeTokens += work.decodeSeqs;
    this.hooks.scheduleStep(this, nowMs + ms);
  }

  /** The step scheduled by kick() ends now. */
  endStep(nowMs: number): void {
    const chunks = this.stepChunks!;
    this.stepChunks = null;
    for (const c of chunks) {
      const seq = c.seq;
      if (seq.status !== 'running') continue;
      const wasDecoding = seq.decoding;
      seq.computed += c.n;
      if (!wasDecoding) {
        this.registerPromptBlocks(seq);
        if (seq.mode === 'prefill') this.hooks.onPrefillChunk(this, seq, this.stepStartMs, nowMs, c.start, c.start + c.n);
        if (!seq.decoding) continue;
      }
      seq.generated++;
      if (seq.mode === 'prefill') {
        this.removeRunning(seq);
        seq.status = 'held';
        this.held++;
        this.hooks.onToken(this, seq, nowMs);
        continue;
      }
      this.hooks.onToken(this, seq, nowMs);
      if (seq.generated >= seq.req.maxTokens) {
        this.removeRunning(seq);
        this.finish(seq);
      }
    }
    this.hooks.onKvEvents(this, this.cache.takeEvents());
    this.afterChange(nowMs);
  }

  private afterChange(nowMs: number): void {
    if (!this.stepChunks) this.kick(nowMs);
  }

  private finish(seq: SimSeq): void {
    this.freeSeq(seq);
    seq.status = 'done';
  }

  private freeSeq(seq: SimSeq): void {
    this.cache.release(seq.blocks, seq.privateBlocks);
    seq.blocks = [];
    seq.privateBlocks = 0;
  }

  private registerPromptBlocks(seq: SimSeq): void {
    const S = this.engine.blockSize;
    const hashes = seq.req.blockHashes;
    while (seq.registered < hashes.length && (seq.registered + 1) * S <= seq.computed) {
      const b = this.cache.register(hashes[seq.registered]);
      if (b) {
        seq.blocks.push(b);
        seq.privateBlocks--;
      }
      seq.registered++;
    }
  }

  private allocateSlots(seq: SimSeq, tokens: number): boolean {
    const need = Math.ceil(tokens / this.engine.blockSize) - seq.allocatedBlocks;
    if (need <= 0) return true;
    if (!this.cache.allocate(need)) return false;
    seq.privateBlocks += need;
    return true;
  }

  private schedule(): Chunk[] {
    let budget = this.engine.maxBatchTokens;
    const chunks: Chunk[] = [];
    const order: SimSeq[] = [];
    for (const s of this.running) if (s.decoding) order.push(s);
    for (const s of this.running) if (!s.decoding) order.push(s);
    for (let i = 0; i < order.length && budget > 0; i++) {
      const seq = order[i];
      const n = seq.decoding ? 1 : Math.min(seq.prefillTarget - seq.computed, budget);
      while (!this.allocateSlots(seq, seq.computed + n)) {
        const victim = order.pop()!;
        this.preempt(victim);
        if (victim === seq) break;
      }
      if (seq.status !== 'running') break;
      chunks.push({ seq, start: seq.computed, n });
      budget -= n;
    }
    this.admit(budget, chunks);
    return chunks;
  }

  private admit(budget: number, chunks: Chunk[]): void {
    const S = this.engine.blockSize;
    while (budget > 0 && this.waiting.length > 0 && this.running.length < this.engine.maxRunningSeqs) {
      const seq = this.waiting[0];
      const hashes = seq.req.blockHashes;
      const hit = this.cache.match(hashes, Math.floor((seq.prefillTarget - 1) / S));
      const blocks = this.cache.acquire(hashes, hit);
      const cached = hit * S;
      const n = Math.min(seq.prefillTarget - cached, budget);
      seq.blocks = blocks;
      if (!this.allocateSlots(seq, cached + n)) {
        this.cache.release(blocks, 0);
        seq.blocks = [];
        return;
      }
      this.waiting.shift();
      seq.computed = cached;
      seq.registered = hit;
      if (seq.preemptions === 0) seq.cachedTokens = Math.min(cached, seq.req.promptTokens);
      this.addRunning(seq);
      chunks.push({ seq, start: cached, n });
      budget -= n;
    }
  }

  private preempt(seq: SimSeq): void {
    this.removeRunning(seq);
    this.freeSeq(seq);
    seq.prefillTarget = seq.req.promptTokens + seq.generated;
    seq.computed = 0;
    seq.registered = 0;
    seq.preemptions++;
    seq.status = 'waiting';
    this.stats.preemptions++;
    this.waiting.unshift(seq);
  }

  /** Running stays in scheduler order (arrival), as the engine sorts it. */
  private addRunning(seq: SimSeq): void {
    seq.status = 'running';
    let i = this.running.length;
    while (i > 0 && this.running[i - 1].order > seq.order) i--;
    this.running.splice(i, 0, seq);
  }

  private removeRunning(seq: SimSeq): void {
    const i = this.running.indexOf(seq);
    if (i >= 0) this.running.splice(i, 1);
  }
}
