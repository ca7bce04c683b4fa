/**
 * The engine cost model of the cluster simulator: how long one scheduler step takes, and how long
 * KV takes to cross the link. Fitted from `npm run bench:engine` / `npm run bench:kv-transfer`
 * output by `duet simulate fit` (fit.ts); a fitted model is a small JSON file.
 *
 * One step of the real engine mixes decode tokens and prefill chunks under a token budget, so its
 * time is additive over what it runs:
 *
 *   stepMs = baseMs                          per forward pass (kernel launches, sampling, host work)
 *          + prefillTokenMs  · P             P  prompt tokens computed in the step (uncached only)
 *          + decodeSeqMs     · D             D  sequences decoding one token
 *          + attentionPairMs · A             A  (query, key) pairs of attention in the step
 *
 *   A for a prefill chunk of n tokens starting at position s:   n·s + n(n+1)/2
 *   A for one decode token at context length L:                 L
 *
 * So prefill time grows with uncached tokens (linear) and with the context they attend to
 * (cached prefix included), and decode step time with batch size and context.
 *
 *   transferMs(bytes) = latencyMs + bytes / bandwidth       bytes = tokens · kvBytesPerToken
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

export const COST_MODEL_KIND = 'duet-sim-cost-model';

const nonNeg = () => z.number().finite().min(0);
const posInt = () => z.number().int().positive();

export const costModelSchema = z.strictObject({
  kind: z.literal(COST_MODEL_KIND),
  version: z.literal(1),
  model: z.strictObject({
    /** What was measured, e.g. `small (llama 4L×256)`. */
    name: z.string().min(1),
    layers: posInt(),
    hiddenSize: posInt(),
    kvHeads: posInt(),
    headDim: posInt(),
    vocabSize: posInt(),
    maxContextTokens: posInt(),
    /** K and V of one token over every layer: layers · 2 · kvHeads · headDim · 4 (f32 cache). */
    kvBytesPerToken: posInt(),
  }),
  step: z.strictObject({
    baseMs: nonNeg(),
    prefillTokenMs: nonNeg(),
    decodeSeqMs: nonNeg(),
    attentionPairMs: nonNeg(),
  }),
  transfer: z.strictObject({
    transport: z.enum(['nats', 'tcp']),
    bandwidthMBps: z.number().finite().positive(),
    latencyMs: nonNeg(),
  }),
  /** Fixed platform delays: gateway → router → worker (routeMs), one NATS hop (hopMs). */
  platform: z.strictObject({
    routeMs: nonNeg(),
    hopMs: nonNeg(),
  }),
  /** Provenance: the command and bench outputs it was fitted from, residuals, notes. */
  fit: z.record(z.string(), z.unknown()).optional(),
});

export type CostModel = z.output<typeof costModelSchema>;

/** A cost model file that does not parse; names the file and the path of every bad value. */
export class CostModelError extends Error {
  override name = 'CostModelError';
}

export function parseCostModel(doc: unknown, source = 'cost model'): CostModel {
  const r = costModelSchema.safeParse(doc);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  throw new CostModelError(`${source}: ${issues.join('; ')}`);
}

export async function loadCostModel(path: string): Promise<CostModel> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CostModelError(`cannot read cost model ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CostModelError(`${path}: not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  return parseCostModel(doc, path);
}

/** The committed default: fitted on this project's development machine for the demo model. */
export const DEFAULT_COST_MODEL_PATH = new URL('./cost-models/default.json', import.meta.url).pathname;

export interface StepWork {
  prefillTokens: number;
  decodeSeqs: number;
  attentionPairs: number;
}

export function stepMs(m: CostModel, w: StepWork): number {
  const s = m.step;
  return s.baseMs + s.prefillTokenMs * w.prefillTokens + s.decodeSeqMs * w.decodeSeqs + s.attentionPairMs * w.attentionPairs;
}

/** Attention pairs of a prefill chunk of `n` tokens at positions start … start + n − 1. */
export function chunkPairs(start: number, n: number): number {
  return n * start + (n * (n + 1)) / 2;
}

/** Time the link needs for `bytes` (no latency): bandwidth in MB/s = 10⁶ bytes/s. */
export function linkMs(m: CostModel, bytes: number): number {
  return bytes / (m.transfer.bandwidthMBps * 1e3);
}
