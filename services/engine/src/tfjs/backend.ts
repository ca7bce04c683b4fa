/**
 * The one place that imports a TensorFlow.js backend package. Everything else in the engine talks to
 * `@tensorflow/tfjs-core` only, so the backend is injected at start:
 *   - `wasm` (default): XNNPACK SIMD kernels, installs everywhere from npm;
 *   - `cpu`: the plain-JS reference backend, for debugging (30–50× slower);
 *   - `tensorflow`: libtensorflow through `@tensorflow/tfjs-node-gpu`, present only in the GPU image
 *     (its install script downloads native code, so it is not a default dependency).
 */
import * as tf from '@tensorflow/tfjs-core';

export type BackendName = 'wasm' | 'cpu' | 'tensorflow';

export const BACKEND_NAMES: readonly BackendName[] = ['wasm', 'cpu', 'tensorflow'];

export interface BackendInfo {
  name: BackendName;
  /**
   * Threads the backend computes with (wasm in Node is single-threaded). `Engine.backend.threads`
   * is the engine's own count instead: its tensor-parallel threads, each with its own backend.
   */
  threads: number;
}

export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BackendUnavailableError';
  }
}

async function importBackend(name: BackendName): Promise<void> {
  switch (name) {
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      return;
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return;
    case 'tensorflow': {
      // A variable specifier keeps TypeScript from requiring the optional package at build time.
      const pkg = '@tensorflow/tfjs-node-gpu';
      try {
        await import(pkg);
      } catch (err) {
        throw new BackendUnavailableError(
          name,
          `backend "tensorflow" needs ${pkg}, which is not installed (it is only in the GPU image): ` +
            `npm install ${pkg}`,
          { cause: err },
        );
      }
      return;
    }
  }
}

let pending: Promise<BackendInfo> = Promise.resolve({ name: 'cpu', threads: 1 });

/**
 * Loads and activates a backend; idempotent. Calls are serialised, because TensorFlow.js fails a
 * `setBackend` issued while another backend is still initialising. Throws BackendUnavailableError
 * naming what is missing.
 */
export function initBackend(name: BackendName = 'wasm'): Promise<BackendInfo> {
  const next = pending.catch(() => undefined).then(() => activate(name));
  pending = next;
  return next;
}

async function activate(name: BackendName): Promise<BackendInfo> {
  if (!BACKEND_NAMES.includes(name)) {
    throw new BackendUnavailableError(name, `unknown backend "${String(name)}" (expected one of ${BACKEND_NAMES.join(', ')})`);
  }
  if (tf.getBackend() !== name) {
    await importBackend(name);
    const ok = await tf.setBackend(name);
    if (!ok) throw new BackendUnavailableError(name, `TensorFlow.js could not initialise backend "${name}"`);
  }
  await tf.ready();
  return { name, threads: backendThreads(name) };
}

function backendThreads(name: BackendName): number {
  // tfjs-backend-wasm hard-codes multithreading off in Node (see shared NOTES), and `cpu` is
  // single-threaded JavaScript. libtensorflow uses its own pool.
  return name === 'tensorflow' ? 0 : 1;
}
