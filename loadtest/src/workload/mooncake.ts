/**
 * Mooncake trace replay (FAST'25 release: one JSON object per line, `timestamp` ms, `input_length`,
 * `output_length`, `hash_ids` — chained hashes of 512-token blocks, equal id = equal whole prefix).
 *
 * Scaling to a small model keeps the sharing structure exactly: every 512-token trace block becomes
 * one block of `tokensPerBlock` tokens whose content is a pure function of its hash id, so two
 * scaled prompts share a prefix of k blocks exactly when their first k hash ids are equal.
 *
 *   trace    hash_ids [0, 14, 15]           (512 tokens each, the last one partial)
 *   scaled   block(0) ‖ block(14) ‖ block(15)   (tokensPerBlock each, all full)
 *
 * Factor = tokensPerBlock / 512 (1/32 by default, so a trace block maps to one 16-token KV block of
 * the engine). The prompt is always whole blocks (a partial last trace block becomes a full one),
 * so the prefix-reuse upper bound of the scaled workload equals the trace's. Output lengths scale
 * by the same factor (at least 1), keeping the input/output ratio. A prompt that would not fit
 * `maxContextTokens` with its output keeps only its leading blocks (counted in params.truncated).
 */
import { blockTokens } from './tokens.ts';
import { WorkloadError, type TokenRange, type Workload } from './types.ts';

export const MOONCAKE_BLOCK_TOKENS = 512;

export interface MooncakeRow {
  timestamp: number;
  inputLength: number;
  outputLength: number;
  hashIds: number[];
}

export interface MooncakeOptions {
  /** Tokens of one scaled block; 16 (the engine's KV block size) by default. */
  tokensPerBlock?: number;
  /** Longest prompt + output the model takes. */
  maxContextTokens: number;
  range: TokenRange;
  /** Varies the random tail of every block (not the sharing). */
  seed?: number;
  /** File name for params and errors. */
  source?: string;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function parseRow(line: string, where: string): MooncakeRow {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch (err) {
    throw new WorkloadError(`${where}: not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  for (const f of ['timestamp', 'input_length', 'output_length'] as const) {
    if (!isCount(o[f])) throw new WorkloadError(`${where}: "${f}" must be a non-negative integer, got ${JSON.stringify(o[f])}`);
  }
  const ids = o.hash_ids;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every(isCount) || ids.some((h) => h >= 2 ** 32)) {
    throw new WorkloadError(`${where}: "hash_ids" must be a non-empty array of integers in [0, 2^32)`);
  }
  return { timestamp: o.timestamp as number, inputLength: o.input_length as number, outputLength: o.output_length as number, hashIds: ids };
}

/** Parses a Mooncake JSONL trace; every bad line fails with `source:line`. */
export function parseMooncake(text: string, source = 'trace'): MooncakeRow[] {
  const rows: MooncakeRow[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() !== '') rows.push(parseRow(line, `${source}:${i + 1}`));
  });
  if (rows.length === 0) throw new WorkloadError(`${source}: no requests`);
  return rows;
}

/** How many leading blocks of a row the scaled prompt keeps, and its output budget. */
export function scaleRow(row: MooncakeRow, tokensPerBlock: number, maxContextTokens: number): { blocks: number; maxTokens: number } {
  const maxTokens = Math.max(1, Math.round((row.outputLength * tokensPerBlock) / MOONCAKE_BLOCK_TOKENS));
  const room = Math.floor((maxContextTokens - maxTokens) / tokensPerBlock);
  if (room < 1) throw new WorkloadError(`max context ${maxContextTokens} cannot hold one ${tokensPerBlock}-token block plus ${maxTokens} output tokens`);
  return { blocks: Math.min(row.hashIds.length, room), maxTokens };
}

export function mooncakeWorkload(rows: readonly MooncakeRow[], o: MooncakeOptions): Workload {
  const tpb = o.tokensPerBlock ?? 16;
  if (!Number.isInteger(tpb) || tpb < 1) throw new WorkloadError(`tokens per block must be a positive integer, got ${tpb}`);
  const t0 = rows[0].timestamp;
  let truncated = 0;
  const requests = rows.map((row, i) => {
    const { blocks, maxTokens } = scaleRow(row, tpb, o.maxContextTokens);
    if (blocks < row.hashIds.length) truncated++;
    const promptIds = row.hashIds.slice(0, blocks).flatMap((h) => blockTokens(h, tpb, o.range, o.seed ?? 0));
    return { id: `mooncake-${i}`, arrivalMs: row.timestamp - t0, promptIds, maxTokens, prefixGroup: `h${row.hashIds[0]}` };
  });
  return {
    name: 'mooncake',
    description: `Mooncake trace ${o.source ?? ''} (${rows.length} requests), 512-token blocks scaled to ${tpb} tokens (factor ${tpb}/512)`,
    requests,
    timed: true,
    params: { source: o.source ?? '', tokens_per_block: tpb, scale_factor: tpb / MOONCAKE_BLOCK_TOKENS, max_context_tokens: o.maxContextTokens, truncated },
  };
}
