/** Fixture builders shared by the KV tests (hand-written; no mocking library). */
import { BlockManager } from '../../src/kv/block-manager.ts';
import type { BlockManagerOptions } from '../../src/kv/block-manager-options.ts';
import type { KvEvent } from '../../src/kv/kv-events.ts';

/** [start, start+1, …, start+n-1]: distinct ranges give distinct blocks. */
export function range(start: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => start + i);
}

/** A manager plus every event it emits, in order. */
export function managerWithEvents(options: BlockManagerOptions): { mgr: BlockManager; events: KvEvent[] } {
  const mgr = new BlockManager(options);
  const events: KvEvent[] = [];
  mgr.onEvent((e) => events.push(e));
  return { mgr, events };
}

/** Opens a sequence, allocates its whole prompt and commits the uncached part (a prefill). */
export function prefill(mgr: BlockManager, seqId: string, prompt: number[], salt?: string): number {
  const { cachedTokens } = mgr.openSequence(seqId, prompt, salt === undefined ? {} : { salt });
  if (!mgr.allocateSlots(seqId, prompt.length)) throw new Error(`no room to prefill ${seqId}`);
  mgr.commitTokens(seqId, prompt.slice(cachedTokens));
  return cachedTokens;
}

export function refCounts(mgr: BlockManager): number[] {
  return mgr.inspect().blocks.map((b) => b.refCount);
}

export function freeQueue(mgr: BlockManager): number[] {
  return mgr.inspect().freeQueue;
}

/** Cached hashes implied by replaying events onto an empty set (kv-events.ts contract). */
export function replay(events: readonly KvEvent[]): Set<string> {
  const held = new Set<string>();
  for (const e of events) {
    if (e.type === 'stored') for (const h of e.hashes) held.add(h);
    else if (e.type === 'removed') for (const h of e.hashes) held.delete(h);
    else held.clear();
  }
  return held;
}
