/**
 * Step 5 of a plan: make the pair (prefill, decode) hold the ratio bounds
 *
 *   ratio.min × decode ≤ prefill ≤ ratio.max × decode,   each pool within its min/max
 *
 * by choosing, among every feasible pair, the one that (1) leaves the least capacity short of the
 * per-pool targets, (2) moves least from the targets, (3) has fewer decode replicas — in that order,
 * so the result is unique. (1) means the lagging pool is raised rather than the leading one cut:
 * 8 prefill wanted with 1 decode and ratio.max 4 gives (8, 2), not (4, 1); a pool is cut only when
 * its partner is at maxReplicas. The policy schema guarantees a feasible pair exists.
 *
 * Cost O(decode.maxReplicas − decode.minReplicas): for each decode count the best prefill count is
 * the target clamped into that count's allowed range.
 */
import { prefillRangeFor, type ScalingPolicySpec } from './policy.ts';
import type { PoolReplicas } from './signals.ts';

type Cost = [shortfall: number, distance: number, decode: number];

function less(a: Cost, b: Cost): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

export function projectToRatio(spec: ScalingPolicySpec, target: PoolReplicas): PoolReplicas {
  let best: PoolReplicas | null = null;
  let bestCost: Cost | null = null;
  for (let d = spec.decode.minReplicas; d <= spec.decode.maxReplicas; d++) {
    const { lo, hi } = prefillRangeFor(spec, d);
    if (lo > hi) continue;
    const p = Math.min(hi, Math.max(lo, target.prefill));
    const cost: Cost = [
      Math.max(0, target.prefill - p) + Math.max(0, target.decode - d),
      Math.abs(p - target.prefill) + Math.abs(d - target.decode),
      d,
    ];
    if (!bestCost || less(cost, bestCost)) [best, bestCost] = [{ prefill: p, decode: d }, cost];
  }
  if (!best) throw new Error('no feasible prefill/decode pair: the policy was not validated by parseScalingPolicySpec');
  return best;
}
