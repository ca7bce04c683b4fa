/**
 * A checkpoint = the safetensors of one model folder: either a single `model.safetensors`, or
 * shards `model-0000i-of-0000N.safetensors` listed by `model.safetensors.index.json`:
 *
 *   { "metadata": { "total_size": <data bytes> }, "weight_map": { tensor name: shard file } }
 *
 * The writer splits like transformers' `save_pretrained(max_shard_size=...)`: tensors in the
 * given order fill a shard until the next one would pass the limit; a tensor larger than the
 * limit gets a shard of its own.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { HostTensor } from './types.ts';
import { DTYPE_BYTES, type Dtype } from './dtype.ts';
import { ModelLoadError } from './errors.ts';
import { openSafetensors, writeSafetensors, type NamedTensor, type SafetensorsFile, type TensorEntry } from './safetensors.ts';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

export interface Checkpoint {
  /** Every tensor in the checkpoint with its header entry. */
  entries: Map<string, TensorEntry & { file: string }>;
  /** Sum of all tensors' data bytes over all files (headers excluded). */
  dataBytes: number;
  read(name: string): Promise<HostTensor>;
  close(): Promise<void>;
}

export function shardFileName(i: number, n: number): string {
  return `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
}

/** Greedy split in order; never leaves an empty shard. */
export function planShards(tensors: readonly NamedTensor[], dtype: Dtype, maxShardBytes: number): NamedTensor[][] {
  const shards: NamedTensor[][] = [];
  let current: NamedTensor[] = [];
  let bytes = 0;
  for (const t of tensors) {
    const size = t.data.length * DTYPE_BYTES[dtype];
    if (current.length > 0 && bytes + size > maxShardBytes) {
      shards.push(current);
      current = [];
      bytes = 0;
    }
    current.push(t);
    bytes += size;
  }
  if (current.length > 0) shards.push(current);
  return shards;
}

/** Write `model.safetensors`, or shards + index when the data exceeds `maxShardBytes`. */
export async function writeCheckpoint(
  dir: string,
  tensors: readonly NamedTensor[],
  options: { dtype: Dtype; maxShardBytes?: number; metadata?: Record<string, string> },
): Promise<string[]> {
  const metadata = options.metadata ?? { format: 'pt' };
  const shards = planShards(tensors, options.dtype, options.maxShardBytes ?? Infinity);
  if (shards.length <= 1) {
    await writeSafetensors(join(dir, SINGLE_FILE), tensors, { dtype: options.dtype, metadata });
    return [SINGLE_FILE];
  }
  const files = shards.map((_, i) => shardFileName(i, shards.length));
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (const [i, shard] of shards.entries()) {
    await writeSafetensors(join(dir, files[i]), shard, { dtype: options.dtype, metadata });
    for (const t of shard) {
      weightMap[t.name] = files[i];
      totalSize += t.data.length * DTYPE_BYTES[options.dtype];
    }
  }
  const sortedMap = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : 1)));
  const index = { metadata: { total_size: totalSize }, weight_map: sortedMap };
  await writeFile(join(dir, INDEX_FILE), JSON.stringify(index, null, 2) + '\n');
  return [...files, INDEX_FILE];
}

/** Shard files named by the index, each tensor checked against the shard that should hold it. */
async function readIndex(dir: string): Promise<Map<string, string>> {
  const path = join(dir, INDEX_FILE);
  let index: unknown;
  try {
    index = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new ModelLoadError(`${path}: cannot read the shard index (${(cause as Error).message})`, { file: path }, { cause });
  }
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null) {
    throw new ModelLoadError(`${path}: no "weight_map" object`, { file: path });
  }
  const out = new Map<string, string>();
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== 'string' || file.includes('/') || file.includes('\\')) {
      throw new ModelLoadError(`${path}: weight_map["${name}"] is not a file name in the folder`, { file: path, tensor: name });
    }
    out.set(name, file);
  }
  return out;
}

/** Open the checkpoint of a model folder (single file or sharded). */
export async function openCheckpoint(dir: string): Promise<Checkpoint> {
  const sharded = existsSync(join(dir, INDEX_FILE));
  if (!sharded && !existsSync(join(dir, SINGLE_FILE))) {
    throw new ModelLoadError(`${dir}: neither ${SINGLE_FILE} nor ${INDEX_FILE} exists`, { file: join(dir, SINGLE_FILE) });
  }
  const weightMap = sharded ? await readIndex(dir) : null;
  const fileNames = weightMap ? [...new Set(weightMap.values())].sort() : [SINGLE_FILE];
  const files = new Map<string, SafetensorsFile>();
  try {
    for (const f of fileNames) files.set(f, await openSafetensors(join(dir, f)));
  } catch (err) {
    await Promise.all([...files.values()].map((f) => f.close()));
    throw err;
  }
  const entries = new Map<string, TensorEntry & { file: string }>();
  for (const [f, st] of files) {
    for (const [name, e] of st.tensors) entries.set(name, { ...e, file: f });
  }
  for (const [name, f] of weightMap ?? []) {
    if (entries.get(name)?.file !== f) {
      throw new ModelLoadError(`${join(dir, f)}: tensor "${name}" listed in ${INDEX_FILE} is not in this shard`, { file: join(dir, f), tensor: name });
    }
  }
  const dataBytes = [...entries.values()].reduce((s, e) => s + e.byteLength, 0);
  const read = async (name: string): Promise<HostTensor> => {
    const e = entries.get(name);
    if (!e) throw new ModelLoadError(`${dir}: no tensor "${name}" in the checkpoint`, { tensor: name });
    return files.get(e.file)!.read(name);
  };
  const close = async (): Promise<void> => {
    await Promise.all([...files.values()].map((f) => f.close()));
  };
  return { entries, dataBytes, read, close };
}
