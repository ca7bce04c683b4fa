/**
 * node-llama-cpp, installed on demand into `<repo>/.cache/llamacpp/` (git-ignored, ~725 MB with
 * every platform's prebuilt binaries) and imported from there by absolute path. It is never a
 * project dependency: only `--vs-llamacpp` benchmarks and the opt-in DUET_LLAMACPP=1 test need it.
 *
 * The types below are the small structural slice of node-llama-cpp 3.22 this folder uses, so the
 * project type-checks without the package installed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

export const NODE_LLAMA_CPP_VERSION = '3.22.1';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');
/** Default install folder; `DUET_LLAMACPP_DIR` overrides it. */
export const DEFAULT_LLAMACPP_DIR = join(REPO_ROOT, '.cache', 'llamacpp');

export type Token = number;

export interface LlamaSequence {
  readonly nextTokenIndex: number;
  clearHistory(): Promise<void>;
  evaluate(tokens: Token[], options?: { temperature?: number }): AsyncGenerator<Token, void, void | Token | Token[]>;
  evaluateWithoutGeneratingNewTokens(tokens: Token[]): Promise<void>;
  controlledEvaluate(
    input: (Token | [Token, { generateNext?: { token?: boolean; logits?: boolean } }])[],
  ): Promise<(undefined | { next: { token?: Token | null; logits?: Map<Token, number> } })[]>;
  dispose(): void;
}

export interface LlamaContext {
  readonly contextSize: number;
  readonly batchSize: number;
  readonly currentThreads: number;
  getSequence(): LlamaSequence;
  dispose(): Promise<void>;
}

export interface LlamaContextOptions {
  contextSize: number;
  batchSize: number;
  sequences: number;
  threads: number;
  flashAttention: boolean;
  experimentalKvCacheKeyType: 'F32';
  experimentalKvCacheValueType: 'F32';
}

export interface LlamaModel {
  tokenize(text: string, specialTokens?: boolean): Token[];
  createContext(options: LlamaContextOptions): Promise<LlamaContext>;
  dispose(): Promise<void>;
}

export interface Llama {
  readonly cpuMathCores: number;
  loadModel(options: { modelPath: string; gpuLayers: number }): Promise<LlamaModel>;
}

export interface NodeLlamaCpp {
  getLlama(options: { gpu: false; build: 'never'; maxThreads: number; logLevel: string }): Promise<Llama>;
}

export class LlamaCppUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LlamaCppUnavailableError';
  }
}

const installDir = (): string => process.env.DUET_LLAMACPP_DIR ?? DEFAULT_LLAMACPP_DIR;
const entryFile = (dir: string): string => join(dir, 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
/** Written only after npm succeeded, so an interrupted install is retried. */
const markerFile = (dir: string): string => join(dir, `installed-${NODE_LLAMA_CPP_VERSION}`);

async function npmInstall(dir: string, log: (msg: string) => void): Promise<void> {
  await mkdir(dir, { recursive: true });
  log(`installing node-llama-cpp@${NODE_LLAMA_CPP_VERSION} into ${dir} (~725 MB, once)`);
  const args = ['install', '--prefix', dir, `node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`, '--no-save', '--no-audit', '--no-fund'];
  try {
    await promisify(execFile)('npm', args, { cwd: dir, maxBuffer: 64 << 20 });
  } catch (cause) {
    const err = cause as Error & { stderr?: string };
    const tail = (err.stderr || err.message).trim().split('\n').slice(-8).join('\n');
    throw new LlamaCppUnavailableError(`npm ${args.join(' ')} failed:\n${tail}`, { cause });
  }
  if (!existsSync(entryFile(dir))) throw new LlamaCppUnavailableError(`npm install finished but ${entryFile(dir)} is missing`);
  await writeFile(markerFile(dir), `${new Date().toISOString()}\n`);
}

let loaded: Promise<NodeLlamaCpp> | null = null;

/**
 * Install node-llama-cpp into the cache folder if needed and import it. Throws
 * LlamaCppUnavailableError (with npm's error output) when it cannot be installed.
 */
export function ensureLlamaCpp(options: { log?: (msg: string) => void } = {}): Promise<NodeLlamaCpp> {
  loaded ??= (async () => {
    const dir = installDir();
    if (!existsSync(markerFile(dir)) || !existsSync(entryFile(dir))) await npmInstall(dir, options.log ?? ((m) => console.error(`[llamacpp] ${m}`)));
    return (await import(pathToFileURL(entryFile(dir)).href)) as NodeLlamaCpp;
  })();
  loaded.catch(() => (loaded = null));
  return loaded;
}

let llama: Promise<Llama> | null = null;

/**
 * The process-wide CPU-only Llama instance from the prebuilt binaries (never compiles).
 * maxThreads 0 makes each context's `threads` the exact thread count used.
 */
export function getCpuLlama(): Promise<Llama> {
  llama ??= ensureLlamaCpp().then((m) => m.getLlama({ gpu: false, build: 'never', maxThreads: 0, logLevel: 'error' }));
  llama.catch(() => (llama = null));
  return llama;
}
