/**
 * Expert profiles by prompt prefix (MoE): a bounded LRU table from a prefix's last block hash to
 * the per-layer expert mix of a prompt that started with that prefix, so a repeated prefix predicts
 * its experts before prefill runs. Prefill workers report each prompt's histogram with its chained
 * block hashes; the profile is stored under every `stride`-th block and the last one, and a lookup
 * takes the longest stored prefix of the new prompt.
 *
 * Cost: record O(blocks / stride) map writes; predict O(prompt blocks) map lookups from the end
 * (stops at the first hit; skipped when the table is empty, as for dense models). Memory: about
 * (key 60 B + entry 80 B + L·E·8 B) per stored block, bounded by `capacity` entries.
 */
import type { ExpertVector } from '../plugins/types.ts';
import { normalizeLayers } from '../plugins/util.ts';

export interface ExpertHistogramLayer {
  layer: number;
  tokensPerExpert: readonly number[];
}

/** A wire histogram → per-layer normalised vector; null when empty (dense model). */
export function histogramToVector(histogram: readonly ExpertHistogramLayer[]): ExpertVector | null {
  if (histogram.length === 0) return null;
  const layers = Math.max(...histogram.map((h) => h.layer)) + 1;
  const experts = Math.max(...histogram.map((h) => h.tokensPerExpert.length));
  if (experts === 0) return null;
  const raw = new Float64Array(layers * experts);
  for (const h of histogram) h.tokensPerExpert.forEach((v, e) => (raw[h.layer * experts + e] = v));
  return normalizeLayers(layers, experts, raw);
}

export class PrefixProfiles {
  private readonly table = new Map<string, ExpertVector>();

  constructor(
    readonly capacity = 50_000,
    readonly stride = 4,
  ) {}

  get size(): number {
    return this.table.size;
  }

  record(blockHashes: readonly string[], profile: ExpertVector): void {
    const n = blockHashes.length;
    for (let i = 0; i < n; i++) if (i % this.stride === this.stride - 1 || i === n - 1) this.put(blockHashes[i], profile);
  }

  predict(blockHashes: readonly string[]): ExpertVector | null {
    if (this.table.size === 0) return null;
    for (let i = blockHashes.length - 1; i >= 0; i--) {
      const hit = this.table.get(blockHashes[i]);
      if (hit) {
        this.touch(blockHashes[i], hit);
        return hit;
      }
    }
    return null;
  }

  private put(hash: string, profile: ExpertVector): void {
    this.table.delete(hash);
    this.table.set(hash, profile);
    if (this.table.size > this.capacity) this.table.delete(this.table.keys().next().value!);
  }

  private touch(hash: string, profile: ExpertVector): void {
    this.table.delete(hash);
    this.table.set(hash, profile);
  }
}
