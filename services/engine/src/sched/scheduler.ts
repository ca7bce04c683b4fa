/**
 * Iteration-level scheduler with chunked prefill (Sarathi-Serve's stall-free batching).
 *
 * Each step fills a token budget in this order:
 *   1. every running sequence that is decoding (one token each) — decodes are never stalled by
 *      a long prompt;
 *   2. running sequences still in their prompt, a chunk each, oldest first;
 *   3. waiting sequences, oldest first (preempted ones go back to the front), taking what the
 *      prefix cache already holds and a first chunk of the rest.
 * When the block pool cannot cover a running sequence, the newest running sequence not yet
 * scheduled this step is preempted (its blocks freed, to be recomputed later), as in vLLM v1.
 * Admission stops at the first waiting sequence that does not fit (no reordering, no starvation).
 */
import type { BlockManager } from '../kv/index.ts';
import type { Sequence } from './sequence.ts';

export interface SchedulerOptions {
  /** Tokens one forward pass may run (decode tokens + prefill chunks). */
  maxBatchTokens: number;
  /** Sequences that may hold KV blocks and run at once. */
  maxRunningSeqs: number;
}

export interface ScheduledChunk {
  seq: Sequence;
  /** Tokens to run: positions seq.numComputed … seq.numComputed + n - 1. */
  n: number;
}

export interface SchedulerOutput {
  chunks: ScheduledChunk[];
  preempted: Sequence[];
}

export class Scheduler {
  private readonly waiting: Sequence[] = [];
  private readonly running: Sequence[] = [];

  constructor(
    private readonly opts: SchedulerOptions,
    private readonly blocks: BlockManager,
  ) {}

  get numWaiting(): number {
    return this.waiting.length;
  }

  get numRunning(): number {
    return this.running.length;
  }

  hasWork(): boolean {
    return this.waiting.length > 0 || this.running.length > 0;
  }

  add(seq: Sequence): void {
    seq.status = 'waiting';
    this.waiting.push(seq);
  }

  /** Puts an already-admitted sequence (e.g. one whose KV was imported) straight into running. */
  addRunning(seq: Sequence): void {
    seq.status = 'running';
    this.running.push(seq);
    this.running.sort((a, b) => a.arrival - b.arrival);
  }

  /** Removes a sequence from the queues; the caller frees or keeps its blocks. */
  remove(seq: Sequence): boolean {
    for (const q of [this.waiting, this.running]) {
      const i = q.indexOf(seq);
      if (i >= 0) {
        q.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  schedule(): SchedulerOutput {
    let budget = this.opts.maxBatchTokens;
    const chunks: ScheduledChunk[] = [];
    const preempted: Sequence[] = [];
    const order = [...this.running.filter((s) => s.isDecoding), ...this.running.filter((s) => !s.isDecoding)];
    for (let i = 0; i < order.length && budget > 0; i++) {
      const seq = order[i];
      const n = Math.min(seq.remaining, budget);
      while (!this.blocks.allocateSlots(seq.id, seq.numComputed + n)) {
        const victim = order.pop()!;
        this.preempt(victim);
        preempted.push(victim);
        if (victim === seq) break;
      }
      if (seq.status !== 'running') break;
      chunks.push({ seq, n });
      budget -= n;
    }
    this.admit(budget, chunks);
    return { chunks, preempted };
  }

  private admit(budget: number, chunks: ScheduledChunk[]): void {
    while (budget > 0 && this.waiting.length > 0 && this.running.length < this.opts.maxRunningSeqs) {
      const seq = this.waiting[0];
      const { cachedTokens } = this.blocks.openSequence(seq.id, seq.tokens(), { salt: seq.salt });
      const n = Math.min(seq.numTokens - cachedTokens, budget);
      if (!this.blocks.allocateSlots(seq.id, cachedTokens + n)) {
        this.blocks.freeSequence(seq.id);
        return;
      }
      this.waiting.shift();
      seq.numComputed = cachedTokens;
      seq.cachedPromptTokens ??= Math.min(cachedTokens, seq.prompt.length);
      this.addRunning(seq);
      chunks.push({ seq, n });
      budget -= n;
    }
  }

  private preempt(seq: Sequence): void {
    this.remove(seq);
    this.blocks.freeSequence(seq.id);
    seq.numComputed = 0;
    seq.numPreemptions++;
    seq.status = 'waiting';
    this.waiting.unshift(seq);
  }
}
