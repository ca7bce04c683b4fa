/**
 * Builders for prefix-index tests: hashes from integers, KV events, batches and snapshots as the
 * wire decodes them, a seeded PRNG, and a reference model (worker → Set of hashes) to check against.
 */
import { create } from '@bufbuild/protobuf';
import { KvEventBatchSchema, KvSnapshotResponseSchema, type KvEventBatch, type KvSnapshotResponse } from '@duet/core';

/** Block hash n as 16 lowercase hex chars. */
export const blk = (n: number): string => n.toString(16).padStart(16, '0');
/** Blocks from..to-1. */
export const blks = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => blk(from + i));

type EventInit = { seq: bigint; event: { case: 'stored'; value: { hashes: string[]; blockSize: number } } | { case: 'removed'; value: { hashes: string[] } } | { case: 'cleared'; value: object } };

export const stored = (seq: number, hashes: string[]): EventInit => ({ seq: BigInt(seq), event: { case: 'stored', value: { hashes, blockSize: 16 } } });
export const removed = (seq: number, hashes: string[]): EventInit => ({ seq: BigInt(seq), event: { case: 'removed', value: { hashes } } });
export const cleared = (seq: number): EventInit => ({ seq: BigInt(seq), event: { case: 'cleared', value: {} } });

export function batch(workerId: string, ...events: EventInit[]): KvEventBatch {
  return create(KvEventBatchSchema, { workerId, events });
}

export function snapshot(workerId: string, seq: number, hashes: string[]): KvSnapshotResponse {
  return create(KvSnapshotResponseSchema, { workerId, seq: BigInt(seq), blockSize: 16, hashes });
}

/** mulberry32: a small seeded PRNG in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What match() must return, computed the slow way from worker → hashes. */
export function referenceMatch(model: Map<string, Set<string>>, hashes: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const [id, held] of model) {
    let n = 0;
    while (n < hashes.length && held.has(hashes[n])) n++;
    if (n > 0) out.set(id, n);
  }
  return out;
}

export const sorted = (m: Map<string, number>): Array<[string, number]> => [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1));
