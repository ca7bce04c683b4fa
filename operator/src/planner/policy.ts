/**
 * The ScalingPolicy spec: one zod schema that is the single source of truth for the planner's
 * options, the `ScalingPolicy` CRD's OpenAPI schema (generated from it with `z.toJSONSchema`) and
 * `npm start --autoscale --scaling-policy FILE`.
 *
 * CRD-friendly on purpose: plain nested objects, no unions, no recursion, every field defaulted, so
 * `{}` is a valid policy. Cross-field rules are checked twice from the same place: a zod refinement
 * (the planner and the CLI, with the config path of the bad value) and the matching CEL rule carried
 * in `.meta({'x-kubernetes-validations': ...})`, which `z.toJSONSchema` copies into the CRD.
 *
 * Units are in the names: `...Seconds`, `...Ms`, `...PerReplica`; KV utilisation is a fraction.
 */
import { z } from 'zod';

/** Ceiling on any pool size; keeps the planner's search over pool pairs O(maxReplicas). */
export const MAX_POOL_REPLICAS = 1000;

const replicas = () => z.number().int().min(0).max(MAX_POOL_REPLICAS);
const positive = () => z.number().positive().max(1e9);
const seconds = () => z.number().int().min(0).max(86_400);

const minMaxRule = {
  rule: 'self.minReplicas <= self.maxReplicas',
  message: 'minReplicas must be <= maxReplicas',
};

const scaleUpSchema = z
  .object({
    stabilizationWindowSeconds: seconds()
      .default(0)
      .describe('Scale up to the lowest recommendation seen in this window (0 = react within one interval).'),
    maxReplicasPerInterval: z
      .number().int().min(1).max(MAX_POOL_REPLICAS)
      .default(4)
      .describe('At most this many replicas added to the pool per planning interval.'),
  })
  .describe('How fast the pool grows.');

const scaleDownSchema = z
  .object({
    stabilizationWindowSeconds: seconds()
      .default(300)
      .describe('Scale down only to the highest recommendation seen in this window (no flapping).'),
    maxReplicasPerInterval: z
      .number().int().min(1).max(MAX_POOL_REPLICAS)
      .default(1)
      .describe('At most this many replicas removed (drained) from the pool per planning interval.'),
  })
  .describe('How fast the pool shrinks.');

/** Fields every pool has; each pool adds its own SLO and thresholds. */
function poolFields(defaults: { minReplicas: number; maxReplicas: number; lowestMinReplicas: number }) {
  return {
    minReplicas: replicas()
      .min(defaults.lowestMinReplicas)
      .default(defaults.minReplicas)
      .describe('The pool never shrinks below this.'),
    maxReplicas: replicas().default(defaults.maxReplicas).describe('The pool never grows above this.'),
    scaleUp: scaleUpSchema.prefault({}),
    scaleDown: scaleDownSchema.prefault({}),
  };
}

export const prefillPoolPolicySchema = z
  .object({
    // 0 is allowed: decode workers prefill locally when there is no prefill pool.
    ...poolFields({ minReplicas: 1, maxReplicas: 8, lowestMinReplicas: 0 }),
    slo: z
      .object({
        ttftP90Ms: positive().default(2000).describe('Target p90 time to first token, milliseconds.'),
      })
      .prefault({}),
    thresholds: z
      .object({
        queuedPromptTokensPerReplica: positive()
          .default(8192)
          .describe('Prompt tokens waiting or in flight per prefill replica before the pool grows.'),
      })
      .prefault({}),
  })
  .refine((p) => p.minReplicas <= p.maxReplicas, { message: minMaxRule.message, path: ['minReplicas'] })
  .meta({ 'x-kubernetes-validations': [minMaxRule] })
  .describe('The prefill pool: sized by queued prompt tokens and TTFT.');

export const decodePoolPolicySchema = z
  .object({
    // Every request ends on a decode worker: the pool never scales to zero.
    ...poolFields({ minReplicas: 1, maxReplicas: 8, lowestMinReplicas: 1 }),
    slo: z
      .object({
        tpotP90Ms: positive().default(100).describe('Target p90 time per output token, milliseconds.'),
      })
      .prefault({}),
    thresholds: z
      .object({
        kvUtilization: z
          .number().gt(0).max(1)
          .default(0.8)
          .describe('Target mean KV-cache utilisation (fraction of blocks in use) across decode replicas.'),
        runningSequencesPerReplica: positive()
          .default(32)
          .describe('Target running (batched) sequences per decode replica.'),
      })
      .prefault({}),
  })
  .refine((p) => p.minReplicas <= p.maxReplicas, { message: minMaxRule.message, path: ['minReplicas'] })
  .meta({ 'x-kubernetes-validations': [minMaxRule] })
  .describe('The decode pool: sized by KV utilisation, running sequences and TPOT.');

const ratioRule = { rule: 'self.min <= self.max', message: 'min must be <= max' };

export const prefillToDecodeRatioSchema = z
  .object({
    min: z.number().min(0).max(MAX_POOL_REPLICAS).default(0.25).describe('Lowest prefill:decode replica ratio.'),
    max: z.number().positive().max(MAX_POOL_REPLICAS).default(4).describe('Highest prefill:decode replica ratio.'),
  })
  .refine((r) => r.min <= r.max, { message: ratioRule.message, path: ['min'] })
  .meta({ 'x-kubernetes-validations': [ratioRule] })
  .describe('Bounds on prefill replicas / decode replicas; they hold after every planning step.');

export const scalingPolicySpecSchema = z
  .object({
    intervalSeconds: z
      .number().int().min(1).max(3600)
      .default(15)
      .describe('The planner runs once per interval; step limits count per interval.'),
    tolerance: z
      .number().min(0).max(1)
      .default(0.1)
      .describe('A signal within this fraction of its target recommends no change (like the HPA).'),
    drainTimeoutSeconds: z
      .number().int().min(1).max(86_400)
      .default(600)
      .describe('A draining worker is removed after this long even if it still holds requests (logged).'),
    prefillToDecodeRatio: prefillToDecodeRatioSchema.prefault({}),
    prefill: prefillPoolPolicySchema.prefault({}),
    decode: decodePoolPolicySchema.prefault({}),
  })
  .superRefine((spec, ctx) => {
    // Only meaningful once every bound parsed as a number (zod runs refinements after child issues too).
    const bounds = [spec.prefill.minReplicas, spec.prefill.maxReplicas, spec.decode.minReplicas, spec.decode.maxReplicas];
    if (!bounds.every(Number.isInteger) || feasiblePairExists(spec)) return;
    // An inverted range is already reported on its own path; no second issue for the same mistake.
    const r = spec.prefillToDecodeRatio;
    if (spec.prefill.minReplicas > spec.prefill.maxReplicas || spec.decode.minReplicas > spec.decode.maxReplicas || r.min > r.max) return;
    ctx.addIssue({
      code: 'custom',
      path: ['prefillToDecodeRatio'],
      message:
        `no prefill/decode replica counts satisfy prefill [${spec.prefill.minReplicas}, ${spec.prefill.maxReplicas}], ` +
        `decode [${spec.decode.minReplicas}, ${spec.decode.maxReplicas}] and ` +
        `ratio [${spec.prefillToDecodeRatio.min}, ${spec.prefillToDecodeRatio.max}]`,
    });
  })
  .describe('Sizes the prefill and decode pools of a DuetService from pushed load and SLO signals.');

export type ScalingPolicySpecInput = z.input<typeof scalingPolicySpecSchema>;
export type ScalingPolicySpec = z.output<typeof scalingPolicySpecSchema>;
export type PrefillPoolPolicy = ScalingPolicySpec['prefill'];
export type DecodePoolPolicy = ScalingPolicySpec['decode'];
export type PoolName = 'prefill' | 'decode';
export const POOLS: readonly PoolName[] = ['prefill', 'decode'];

/** A policy that does not parse; the message names every bad path, e.g. `spec.prefill.minReplicas`. */
export class ScalingPolicyError extends Error {
  constructor(
    readonly source: string,
    readonly issues: readonly { path: string; message: string }[],
  ) {
    super(`invalid scaling policy (${source}): ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.name = 'ScalingPolicyError';
  }
}

/**
 * Parse and default a ScalingPolicy spec. `pathPrefix` is prepended to every issue path
 * (`spec` for a CRD, the file name for `--scaling-policy`).
 */
export function parseScalingPolicySpec(input: unknown, opts: { source?: string; pathPrefix?: string } = {}): ScalingPolicySpec {
  const r = scalingPolicySpecSchema.safeParse(input ?? {});
  if (r.success) return r.data;
  const prefix = opts.pathPrefix ?? 'spec';
  const issues = r.error.issues.map((i) => ({
    path: [prefix, ...i.path.map(String)].filter((s) => s !== '').join('.'),
    message: i.message,
  }));
  throw new ScalingPolicyError(opts.source ?? 'ScalingPolicy', issues);
}

/** The defaulted policy (what `{}` means). */
export function defaultScalingPolicySpec(): ScalingPolicySpec {
  return scalingPolicySpecSchema.parse({});
}

/** Integer prefill counts allowed next to `decode` replicas by bounds and ratio: [lo, hi], maybe empty. */
export function prefillRangeFor(
  spec: Pick<ScalingPolicySpec, 'prefill' | 'prefillToDecodeRatio'>,
  decode: number,
): { lo: number; hi: number } {
  const { min, max } = spec.prefillToDecodeRatio;
  // A tiny epsilon keeps 0.3 * 10 = 3.0000000000000004 from rounding to 4.
  const lo = Math.max(spec.prefill.minReplicas, Math.ceil(min * decode - 1e-9));
  const hi = Math.min(spec.prefill.maxReplicas, Math.floor(max * decode + 1e-9));
  return { lo, hi };
}

function feasiblePairExists(spec: Pick<ScalingPolicySpec, 'prefill' | 'decode' | 'prefillToDecodeRatio'>): boolean {
  for (let d = spec.decode.minReplicas; d <= spec.decode.maxReplicas; d++) {
    const { lo, hi } = prefillRangeFor(spec, d);
    if (lo <= hi) return true;
  }
  return false;
}
