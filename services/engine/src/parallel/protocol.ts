/**
 * The wire between the engine's main thread and its shard workers (tensor parallelism, see
 * tfjs/shard-plan.ts). Bulk data never travels in messages: it lives in SharedArrayBuffers.
 *
 *   init   (message, once)   the shard's spec and weights, the shared KV cache and the channel
 *   ready  (message, reply)  weights uploaded; or `error`
 *   step   (message)         the step's plan (positions, chunks with block tables) and how many
 *                            logit rows it wants; new channel buffers when they had to grow
 *   phases (shared memory)   per phase p = 1, 2, …: main writes the phase input into `input`, sets
 *                            ctl[CMD] and ctl[GO] = p; the worker computes, writes its output into
 *                            `output` and sets ctl[DONE] = p. A step runs 2 phases per layer
 *                            (attention, MLP) and one for logits when any row wants them.
 *
 * ctl[CMD] = ABORT (with a new GO) ends the step early: the worker acknowledges with DONE and goes
 * back to waiting for a step message, so both sides stay in lockstep after a failed forward pass.
 * A worker that fails sets ctl[FAILED] and DONE, and posts the error on `errors` (which the main
 * thread reads synchronously with receiveMessageOnPort, since it is blocked waiting).
 */
import type { MessagePort } from 'node:worker_threads';
import type { BackendName } from '../tfjs/backend.ts';
import type { MatmulKind } from '../tfjs/device-weights.ts';
import type { KvStoreBuffers, KvStoreShape } from '../cache/kv-store.ts';
import type { ModelConfig, ModelWeights } from '../model/types.ts';
import type { ShardSpec } from '../tfjs/shard-plan.ts';
import type { StepPlan } from '../tfjs/shard-compute.ts';

/** Indices into the Int32Array `ctl`. */
export const CTL = { GO: 0, DONE: 1, CMD: 2, FAILED: 3 } as const;
export const CTL_LENGTH = 4;
export const CMD = { RUN: 1, ABORT: 2 } as const;

export interface ChannelBuffers {
  /** Int32 [CTL_LENGTH] */ ctl: SharedArrayBuffer;
  /** Float32, main → all workers: x [T, E] or final-normed rows [R, E]. Shared by all workers. */
  input: SharedArrayBuffer;
  /** Float32, worker → main: its partial [T, E] or its logits [R, V_shard]. */
  output: SharedArrayBuffer;
}

export interface InitMessage {
  type: 'init';
  backend: BackendName;
  matmul: MatmulKind;
  config: ModelConfig;
  spec: ShardSpec;
  /** The shard's slice; `embed` is empty (workers never read it). */
  weights: ModelWeights;
  store: { shape: KvStoreShape; buffers: KvStoreBuffers };
  channel: ChannelBuffers;
  errors: MessagePort;
}

export interface StepMessage {
  type: 'step';
  plan: StepPlan;
  layers: number;
  logitRows: number;
  /** Present when the input/output buffers were reallocated for a bigger step. */
  channel?: ChannelBuffers;
}

export type ToWorker = InitMessage | StepMessage;
export type FromWorker = { type: 'ready' } | { type: 'error'; message: string; stack?: string };

/** Phases a step runs: attention and MLP per layer, then logits when any row wants them. */
export function phasesOf(layers: number, logitRows: number): number {
  return 2 * layers + (logitRows > 0 ? 1 : 0);
}
