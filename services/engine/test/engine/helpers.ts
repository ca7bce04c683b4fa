/** Shared builders for engine-vs-reference tests. */
import assert from 'node:assert/strict';
import { Engine } from '../../src/engine.ts';
import type { EngineOptionsInput } from '../../src/engine-options.ts';
import type { LoadedModel } from '../../src/model/types.ts';
import { makeRandomModel, type RandomModelSpec } from '../reference/fixtures.ts';

/** Logit tolerance of the f32 engine against the f64 reference on toy models. */
export const LOGIT_TOL = 2e-4;

export const ARCHS: readonly RandomModelSpec[] = [
  { arch: 'llama' },
  { arch: 'moe' },
];

export function randomLoaded(spec: RandomModelSpec, seed = 7): LoadedModel {
  const { config, weights } = makeRandomModel(spec, seed);
  return { dir: '(memory)', config, weights, weightBytesOnDisk: 0 };
}

export async function engineFor(model: LoadedModel, opts: EngineOptionsInput = {}): Promise<Engine> {
  return Engine.create(model, { numKvBlocks: 64, blockSize: 4, ...opts });
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length mismatch');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= tol, `${what}: max |Δ| = ${d.toExponential(2)} > ${tol}`);
}

export function logSoftmax(x: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i]);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i] - max);
  const lse = max + Math.log(s);
  return Float64Array.from(x, (v) => v - lse);
}

/** A deterministic prompt of `n` ids in [3, vocab). */
export function promptOf(n: number, vocab: number, salt = 1): number[] {
  return Array.from({ length: n }, (_, i) => 3 + ((i * 31 + salt * 17 + ((i * i) % 7)) % (vocab - 3)));
}
