/**
 * The prefix-reuse upper bound of a workload: the share of prompt tokens that sit in full KV
 * blocks an earlier request (in arrival order) already had — what an unlimited cache shared by
 * every worker could serve. Blocks are chained: block i is reusable only with the same blocks
 * 0 … i−1 before it, as in the engine's chained block hashes.
 *
 * Cost: O(total prompt tokens) time; memory one map entry per distinct block.
 */
import type { WorkloadRequest } from './types.ts';

export interface ReuseBound {
  /** cachedTokens / promptTokens (0 when there are no prompt tokens). */
  rate: number;
  cacheableTokens: number;
  promptTokens: number;
  /** Full blocks seen before / all full blocks. */
  blockRate: number;
}

export function prefixReuseBound(requests: readonly WorkloadRequest[], blockSize: number): ReuseBound {
  const ids = new Map<string, number>();
  let cacheable = 0;
  let prompt = 0;
  let blocks = 0;
  let seenBlocks = 0;
  const ordered = [...requests].sort((a, b) => a.arrivalMs - b.arrivalMs);
  for (const r of ordered) {
    prompt += r.promptIds.length;
    let parent = -1;
    for (let at = 0; at + blockSize <= r.promptIds.length; at += blockSize) {
      const key = `${parent}:${r.promptIds.slice(at, at + blockSize).join(',')}`;
      let id = ids.get(key);
      blocks++;
      if (id === undefined) {
        id = ids.size;
        ids.set(key, id);
      } else {
        seenBlocks++;
        cacheable += blockSize;
      }
      parent = id;
    }
  }
  return { rate: prompt ? cacheable / prompt : 0, cacheableTokens: cacheable, promptTokens: prompt, blockRate: blocks ? seenBlocks / blocks : 0 };
}

/** The same bound over a trace's own block ids (Mooncake `hash_ids`): ids seen before / all ids. */
export function hashIdReuseBound(hashLists: readonly (readonly number[])[]): number {
  const seen = new Set<number>();
  let total = 0;
  let hits = 0;
  for (const list of hashLists) {
    for (const h of list) {
      total++;
      if (seen.has(h)) hits++;
      else seen.add(h);
    }
  }
  return total ? hits / total : 0;
}
