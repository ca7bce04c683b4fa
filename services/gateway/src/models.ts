/**
 * The models a gateway serves: id (the folder's basename unless configured), tokenizer, context
 * length and KV block size (block hashes are only comparable between equal block sizes).
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadTokenizer, parseModelConfig, type DuetTokenizer } from '@duet/engine';

export interface ServedModel {
  id: string;
  dir: string;
  tokenizer: DuetTokenizer;
  /** Longest prompt + completion, in tokens. */
  contextLength: number;
  /** Tokens per KV block, for the prompt's chained block hashes. */
  blockSize: number;
  /** Unix seconds, for /v1/models `created`. */
  created: number;
}

export type ModelRegistry = ReadonlyMap<string, ServedModel>;

export interface ModelSource {
  dir: string;
  /** Served name; the folder's basename when absent. */
  id?: string;
}

/** `"name=dir"` or `"dir"` (the id is then the basename). */
export function parseModelSource(spec: string): ModelSource {
  const eq = spec.indexOf('=');
  return eq > 0 ? { id: spec.slice(0, eq), dir: spec.slice(eq + 1) } : { dir: spec };
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8')) as unknown;
}

export async function loadServedModel(src: ModelSource, blockSize: number): Promise<ServedModel> {
  const dir = resolve(src.dir);
  const gen = join(dir, 'generation_config.json');
  const config = parseModelConfig(await readJson(join(dir, 'config.json')), existsSync(gen) ? await readJson(gen) : undefined);
  return {
    id: src.id ?? basename(dir),
    dir,
    tokenizer: await loadTokenizer(dir),
    contextLength: config.maxPositionEmbeddings,
    blockSize,
    created: Math.floor(Date.now() / 1000),
  };
}

export async function loadModelRegistry(sources: readonly ModelSource[], blockSize: number): Promise<ModelRegistry> {
  const out = new Map<string, ServedModel>();
  for (const src of sources) {
    const m = await loadServedModel(src, blockSize);
    if (out.has(m.id)) throw new Error(`two model folders are served as "${m.id}"; name one with id=dir`);
    out.set(m.id, m);
  }
  return out;
}
