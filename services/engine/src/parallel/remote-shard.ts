/**
 * The main thread's handle on one shard worker (protocol.ts): spawn with the shard's weights, then
 * per phase `start` (non-blocking) and `result` (blocks until the worker answered).
 *
 * The worker is unref'd once ready, so an engine that is never disposed does not keep the process
 * alive; `terminate` (Engine.dispose) ends it.
 */
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { PagedKvStore } from '../cache/kv-store.ts';
import type { ModelConfig, ModelWeights } from '../model/types.ts';
import type { BackendName } from '../tfjs/backend.ts';
import type { MatmulKind } from '../tfjs/device-weights.ts';
import type { ShardSpec } from '../tfjs/shard-plan.ts';
import type { StepPlan } from '../tfjs/shard-compute.ts';
import { CMD, CTL, CTL_LENGTH, type ChannelBuffers, type FromWorker, type InitMessage, type StepMessage } from './protocol.ts';
import { signal, Waiter } from './sync.ts';

const BOOT = new URL('./shard-worker-boot.mjs', import.meta.url);

/** How long one phase may take before the worker counts as lost (a safety net, not a latency bound). */
const PHASE_TIMEOUT_MS = 300_000;

export class ShardWorkerError extends Error {
  constructor(
    readonly shard: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`shard worker ${shard}: ${message}`, options);
    this.name = 'ShardWorkerError';
  }
}

export interface SpawnOptions {
  backend: BackendName;
  matmul: MatmulKind;
  config: ModelConfig;
  spec: ShardSpec;
  /** The shard's slice (sliceWeights). */
  weights: ModelWeights;
  store: PagedKvStore;
  /** The input buffer every worker reads (shared), and this worker's output buffer. */
  input: SharedArrayBuffer;
  output: SharedArrayBuffer;
}

export class RemoteShard {
  private readonly ctl: Int32Array;
  private output: Float32Array;
  private lost: Error | null = null;
  private readonly waiter = new Waiter();

  private constructor(
    readonly spec: ShardSpec,
    private readonly worker: Worker,
    private readonly channel: ChannelBuffers,
    private readonly errors: MessagePort,
  ) {
    this.ctl = new Int32Array(channel.ctl);
    this.output = new Float32Array(channel.output);
    worker.on('error', (err) => (this.lost = err));
    worker.on('exit', (code) => (this.lost ??= new Error(`exited with code ${code}`)));
  }

  /** Starts a worker and uploads its weights; rejects with ShardWorkerError if it cannot start. */
  static async spawn(o: SpawnOptions): Promise<RemoteShard> {
    const channel: ChannelBuffers = { ctl: new SharedArrayBuffer(CTL_LENGTH * 4), input: o.input, output: o.output };
    const { port1, port2 } = new MessageChannel();
    // No inherited flags: the boot file registers tsx itself, and flags such as --input-type or
    // --test do not apply to (or break) a worker thread.
    const worker = new Worker(BOOT, { execArgv: [] });
    const weights = { ...o.weights, embed: { shape: [0, o.config.hiddenSize], data: new Float32Array(0) } };
    const init: InitMessage = {
      type: 'init', backend: o.backend, matmul: o.matmul, config: o.config, spec: o.spec, weights,
      store: { shape: o.store.shape, buffers: o.store.buffers }, channel, errors: port2,
    };
    try {
      await new Promise<void>((resolve, reject) => {
        worker.once('message', (m: FromWorker) => (m.type === 'ready' ? resolve() : reject(new Error(m.message))));
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`exited with code ${code} before it was ready`)));
        worker.postMessage(init, [port2]);
      });
    } catch (err) {
      void worker.terminate();
      port1.close();
      throw new ShardWorkerError(o.spec.index, `could not start: ${(err as Error).message}`, { cause: err });
    }
    worker.removeAllListeners();
    worker.unref();
    port1.unref();
    return new RemoteShard(o.spec, worker, channel, port1);
  }

  /** Sends a step's plan; `channel` buffers replace the old ones when given. */
  beginStep(plan: StepPlan, layers: number, logitRows: number, buffers?: { input: SharedArrayBuffer; output: SharedArrayBuffer }): void {
    this.check();
    const msg: StepMessage = { type: 'step', plan, layers, logitRows };
    if (buffers) {
      this.channel.input = buffers.input;
      this.channel.output = buffers.output;
      this.output = new Float32Array(buffers.output);
      msg.channel = this.channel;
    }
    this.worker.postMessage(msg);
  }

  /** Phase `seq`'s input is in place: let the worker run it. */
  start(seq: number): void {
    Atomics.store(this.ctl, CTL.CMD, CMD.RUN);
    signal(this.ctl, CTL.GO, seq);
  }

  /** Waits for phase `seq` and returns the worker's output buffer (valid until the next phase). */
  result(seq: number): Float32Array {
    this.wait(seq);
    return this.output;
  }

  /** Ends the current step early (after a failure on the main thread) and waits for the ack. */
  abort(seq: number): void {
    Atomics.store(this.ctl, CTL.CMD, CMD.ABORT);
    signal(this.ctl, CTL.GO, seq);
    this.wait(seq);
  }

  private wait(seq: number): void {
    try {
      this.waiter.wait(this.ctl, CTL.DONE, seq, PHASE_TIMEOUT_MS, () => this.check());
    } catch (err) {
      if (err instanceof ShardWorkerError) throw err;
      throw new ShardWorkerError(this.spec.index, (err as Error).message, { cause: err });
    }
    this.check();
  }

  /** Throws the worker's own error if it failed (or was lost). */
  private check(): void {
    if (!this.lost && Atomics.load(this.ctl, CTL.FAILED) === 1) {
      const m = receiveMessageOnPort(this.errors)?.message as { message: string; stack?: string } | undefined;
      this.lost = Object.assign(new Error(m?.message ?? 'failed'), m?.stack ? { stack: m.stack } : {});
    }
    if (this.lost) throw new ShardWorkerError(this.spec.index, this.lost.message, { cause: this.lost });
  }

  terminate(): void {
    this.errors.close();
    void this.worker.terminate();
  }
}
