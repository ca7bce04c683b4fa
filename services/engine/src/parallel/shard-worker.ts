/**
 * A shard worker thread: holds one shard's weights on its own single-threaded TensorFlow.js backend
 * and runs that shard's share of every forward pass in lockstep with the main thread (protocol.ts).
 */
import { parentPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { PagedKvStore } from '../cache/kv-store.ts';
import { initBackend } from '../tfjs/backend.ts';
import { ropeTables } from '../tfjs/host-ops.ts';
import { ShardCompute } from '../tfjs/shard-compute.ts';
import { CMD, CTL, type ChannelBuffers, type InitMessage, type StepMessage, type ToWorker } from './protocol.ts';
import { signal, Waiter } from './sync.ts';

interface State {
  compute: ShardCompute;
  hidden: number;
  ctl: Int32Array;
  input: Float32Array;
  output: Float32Array;
  errors: MessagePort;
  /** The last phase number this worker answered. */
  seen: number;
  waiter: Waiter;
}

let state: State | null = null;

function describe(err: unknown): { message: string; stack?: string } {
  return err instanceof Error ? { message: err.message, stack: err.stack } : { message: String(err) };
}

function channel(s: Pick<State, 'ctl' | 'input' | 'output'>, c: ChannelBuffers): void {
  s.ctl = new Int32Array(c.ctl);
  s.input = new Float32Array(c.input);
  s.output = new Float32Array(c.output);
}

async function init(m: InitMessage): Promise<void> {
  try {
    await initBackend(m.backend);
    const store = PagedKvStore.fromBuffers(m.store.shape, m.store.buffers);
    const c = m.config;
    const compute = new ShardCompute(c, m.spec, m.weights, store, ropeTables(c.maxPositionEmbeddings, c.headDim, c.ropeTheta), m.matmul);
    const s = { compute, hidden: c.hiddenSize, errors: m.errors, seen: 0, waiter: new Waiter() } as State;
    channel(s, m.channel);
    state = s;
    parentPort!.postMessage({ type: 'ready' });
  } catch (err) {
    parentPort!.postMessage({ type: 'error', ...describe(err) });
  }
}

/** Waits for the next phase; false when the main thread aborted the step (acknowledged). */
function next(s: State): boolean {
  s.seen++;
  s.waiter.wait(s.ctl, CTL.GO, s.seen, Number.POSITIVE_INFINITY);
  if (Atomics.load(s.ctl, CTL.CMD) !== CMD.ABORT) return true;
  signal(s.ctl, CTL.DONE, s.seen);
  return false;
}

function answer(s: State, out: Float32Array): void {
  s.output.set(out);
  signal(s.ctl, CTL.DONE, s.seen);
}

function step(s: State, m: StepMessage): void {
  if (m.channel) channel(s, m.channel);
  const x = s.input.subarray(0, m.plan.T * s.hidden);
  try {
    for (let l = 0; l < m.layers; l++) {
      if (!next(s)) return;
      answer(s, s.compute.attention(l, x, m.plan));
      if (!next(s)) return;
      answer(s, s.compute.mlp(l, x, m.plan, null));
    }
    if (m.logitRows > 0) {
      if (!next(s)) return;
      answer(s, s.compute.logits(s.input, m.logitRows));
    }
  } catch (err) {
    s.errors.postMessage(describe(err));
    Atomics.store(s.ctl, CTL.FAILED, 1);
    signal(s.ctl, CTL.DONE, s.seen);
  } finally {
    s.compute.endStep();
  }
}

parentPort!.on('message', (m: ToWorker) => {
  if (m.type === 'init') void init(m);
  else if (state) step(state, m);
});
