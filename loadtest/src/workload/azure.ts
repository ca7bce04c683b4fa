/**
 * Azure LLM inference trace replay (Splitwise, ISCA'24): CSV `TIMESTAMP,ContextTokens,GeneratedTokens`.
 * Lengths only — no prefix information — so every prompt is fresh random tokens. Lengths are
 * multiplied by `lengthScale` (1/8 by default: the code trace's 2,048 / 28 mean becomes 256 / 3.5,
 * the conversation trace's 1,155 / 211 becomes 144 / 26), at least 1, and prompts are cut so
 * prompt + output fit `maxContextTokens`. Arrival times are the timestamps, from the first row.
 */
import { Rng } from './rng.ts';
import { randomTokens } from './tokens.ts';
import { WorkloadError, type TokenRange, type Workload } from './types.ts';

export interface AzureRow {
  /** ms since the first row. */
  timestampMs: number;
  contextTokens: number;
  generatedTokens: number;
}

export interface AzureOptions {
  lengthScale?: number;
  maxContextTokens: number;
  range: TokenRange;
  seed?: number;
  source?: string;
}

/** "2023-11-16 18:17:03.9799600" → ms since the epoch (UTC; only differences matter). */
function parseTimestamp(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(s.trim());
  if (!m) return NaN;
  const [, y, mo, d, h, mi, sec, frac] = m;
  const ms = frac ? Number(`0.${frac}`) * 1000 : 0;
  return Date.UTC(+y, +mo - 1, +d, +h, +mi, +sec) + ms;
}

export function parseAzure(text: string, source = 'trace'): AzureRow[] {
  const lines = text.split('\n').map((l) => l.trim());
  const header = lines[0].split(',').map((h) => h.trim());
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new WorkloadError(`${source}:1: missing column "${name}" (header: ${lines[0]})`);
    return i;
  };
  const [ts, ctx, gen] = [col('TIMESTAMP'), col('ContextTokens'), col('GeneratedTokens')];
  const rows: Array<{ t: number; c: number; g: number }> = [];
  lines.slice(1).forEach((line, i) => {
    if (line === '') return;
    const f = line.split(',');
    const t = parseTimestamp(f[ts] ?? '');
    const c = Number(f[ctx]);
    const g = Number(f[gen]);
    if (!Number.isFinite(t)) throw new WorkloadError(`${source}:${i + 2}: bad TIMESTAMP "${f[ts]}"`);
    if (!Number.isInteger(c) || c < 1 || !Number.isInteger(g) || g < 0) throw new WorkloadError(`${source}:${i + 2}: ContextTokens / GeneratedTokens must be integers (≥ 1 / ≥ 0)`);
    rows.push({ t, c, g });
  });
  if (rows.length === 0) throw new WorkloadError(`${source}: no requests`);
  const t0 = Math.min(...rows.map((r) => r.t));
  return rows.map((r) => ({ timestampMs: r.t - t0, contextTokens: r.c, generatedTokens: r.g })).sort((a, b) => a.timestampMs - b.timestampMs);
}

export function azureWorkload(rows: readonly AzureRow[], o: AzureOptions): Workload {
  const scale = o.lengthScale ?? 1 / 8;
  if (!(scale > 0)) throw new WorkloadError(`length scale must be > 0, got ${scale}`);
  const rng = new Rng(o.seed ?? 0, 0xa2);
  let truncated = 0;
  const requests = rows.map((row, i) => {
    const maxTokens = Math.min(Math.max(1, Math.round(row.generatedTokens * scale)), o.maxContextTokens - 1);
    const want = Math.max(1, Math.round(row.contextTokens * scale));
    const len = Math.min(want, o.maxContextTokens - maxTokens);
    if (len < want) truncated++;
    return { id: `azure-${i}`, arrivalMs: row.timestampMs, promptIds: randomTokens(rng, len, o.range), maxTokens };
  });
  return {
    name: 'azure',
    description: `Azure LLM inference trace ${o.source ?? ''} (${rows.length} requests), lengths × ${scale}`,
    requests,
    timed: true,
    params: { source: o.source ?? '', length_scale: scale, max_context_tokens: o.maxContextTokens, truncated },
  };
}
