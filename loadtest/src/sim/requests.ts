/**
 * What the simulator runs: requests as sizes plus the chained hashes of their full prompt blocks —
 * all a router decision and a KV cache need. Three sources:
 *
 *   fromWorkload       any load-test Workload (token ids): the very requests `duet loadtest` sends,
 *                      hashed block by block, so sharing is exactly the workload's
 *   mooncakeNative     a Mooncake trace at its own token counts: one 512-token trace block is one
 *                      simulated KV block, its hash id the block's identity (equal id = equal prefix)
 *   azureNative        an Azure trace at its own lengths, no sharing (every block unique)
 *
 * Hashes are 16 hex chars (the router's BlockHash format). For token workloads they are chained
 * like the engine's (block i covers blocks 0 … i), but computed with a cheap 2 × 32-bit mixer
 * instead of SHA-256: only the simulator's workers and its router compare them.
 */
import { mix32 } from '../workload/rng.ts';
import type { AzureRow } from '../workload/azure.ts';
import { MOONCAKE_BLOCK_TOKENS, type MooncakeRow } from '../workload/mooncake.ts';
import { WorkloadError, type SessionLabel, type WorkloadRequest } from '../workload/types.ts';

export type BlockHash = string;

export interface SimRequest {
  id: string;
  /** Earliest send time, ms from the start. */
  arrivalMs: number;
  promptTokens: number;
  /** Output tokens generated (the simulated model never stops early). */
  maxTokens: number;
  /** Chained hashes of the prompt's full blocks: floor(promptTokens / blockSize) of them. */
  blockHashes: BlockHash[];
  session?: SessionLabel;
  prefixGroup?: string;
  domain?: string;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Two 32-bit words as 16 lowercase hex chars. */
export function hex64(hi: number, lo: number): BlockHash {
  return (
    HEX[(hi >>> 24) & 255] + HEX[(hi >>> 16) & 255] + HEX[(hi >>> 8) & 255] + HEX[hi & 255] +
    HEX[(lo >>> 24) & 255] + HEX[(lo >>> 16) & 255] + HEX[(lo >>> 8) & 255] + HEX[lo & 255]
  );
}

/** Chained hashes of the full blocks of `tokens`: O(tokens), two multiply-xor lanes per token. */
export function hashTokenBlocks(tokens: readonly number[], blockSize: number): BlockHash[] {
  const out: BlockHash[] = [];
  let p1 = 0x2545f491;
  let p2 = 0x6c8e9cf5;
  for (let at = 0; at + blockSize <= tokens.length; at += blockSize) {
    let h1 = mix32(p1 ^ 0x9e3779b9);
    let h2 = mix32(p2 ^ 0x85ebca6b);
    for (let i = at; i < at + blockSize; i++) {
      const t = tokens[i];
      h1 = Math.imul(h1 ^ t, 0x01000193);
      h2 = Math.imul((h2 + t) ^ (h2 >>> 15), 0x2c1b3c6d);
    }
    p1 = mix32(h1 ^ blockSize);
    p2 = mix32(h2 ^ p1);
    out.push(hex64(p1, p2));
  }
  return out;
}

export function fromWorkload(requests: readonly WorkloadRequest[], blockSize: number): SimRequest[] {
  return requests.map((r) => ({
    id: r.id,
    arrivalMs: r.arrivalMs,
    promptTokens: r.promptIds.length,
    maxTokens: r.maxTokens,
    blockHashes: hashTokenBlocks(r.promptIds, blockSize),
    ...(r.session ? { session: r.session } : {}),
    ...(r.prefixGroup ? { prefixGroup: r.prefixGroup } : {}),
    ...(r.domain ? { domain: r.domain } : {}),
  }));
}

/** Mooncake rows at trace scale; the simulated engine must use 512-token blocks. */
export function mooncakeNative(rows: readonly MooncakeRow[], blockSize: number): SimRequest[] {
  if (blockSize !== MOONCAKE_BLOCK_TOKENS) {
    throw new WorkloadError(`a Mooncake trace at its own scale needs --block-size ${MOONCAKE_BLOCK_TOKENS} (one trace block per KV block), got ${blockSize}`);
  }
  const t0 = rows[0]?.timestamp ?? 0;
  return rows.map((row, i) => {
    const full = Math.min(row.hashIds.length, Math.floor(row.inputLength / blockSize));
    return {
      id: `mooncake-${i}`,
      arrivalMs: row.timestamp - t0,
      promptTokens: row.inputLength,
      maxTokens: Math.max(1, row.outputLength),
      blockHashes: row.hashIds.slice(0, full).map((h) => hex64(mix32(h ^ 0x5bd1e995), h)),
      prefixGroup: `h${row.hashIds[0]}`,
    };
  });
}

/** Azure rows at trace scale: fresh prompts, so request i's block b is unique by construction. */
export function azureNative(rows: readonly AzureRow[], blockSize: number): SimRequest[] {
  return rows.map((row, i) => ({
    id: `azure-${i}`,
    arrivalMs: row.timestampMs,
    promptTokens: row.contextTokens,
    maxTokens: Math.max(1, row.generatedTokens),
    blockHashes: Array.from({ length: Math.floor(row.contextTokens / blockSize) }, (_, b) => hex64(0xa2000000 | (i >>> 8), ((i & 255) << 24) | b)),
  }));
}

/**
 * Share of prompt tokens in full blocks an earlier request (arrival order) already had — what an
 * unlimited cache shared by every worker could serve; the same definition as prefixReuseBound.
 */
export function hashReuseBound(requests: readonly SimRequest[], blockSize: number): number {
  const seen = new Set<BlockHash>();
  let cacheable = 0;
  let prompt = 0;
  const ordered = [...requests].sort((a, b) => a.arrivalMs - b.arrivalMs);
  for (const r of ordered) {
    prompt += r.promptTokens;
    for (const h of r.blockHashes) {
      if (seen.has(h)) cacheable += blockSize;
      else seen.add(h);
    }
  }
  return prompt ? cacheable / prompt : 0;
}
