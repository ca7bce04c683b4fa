/**
 * Memory read bandwidth at native speed on every core, measured in the benchmark's own run, so
 * roofline ratios (achieved weight-read GB/s ÷ memory GB/s) have an honest denominator.
 *
 * A JS loop reads ~5 GB/s at best, several times below what the memory delivers; dividing by
 * that would flatter every ratio. So this compiles `membw.c` (pthreads, vectorised reads, see its
 * header) with the system C compiler on first use, caches the binary, runs it and parses its JSON.
 * There is deliberately no JS fallback: without a compiler it throws.
 *
 * Cache: `<repo>/.cache/membw/membw-<key>`, key = sha256 of the source, the compiler and the CPU
 * model (a `-march=native` binary is only valid on the CPU it was built for, and `.cache/` may be
 * copied to another machine). Concurrent first runs each compile to a temp file and rename.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { arch, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface MemoryReadOptions {
  /** Reader threads (default: online cores). */
  threads?: number;
  /** Total buffer, split evenly over threads; keep it far above the last-level cache (default 1024). */
  bufferMiB?: number;
  /** Timed passes after one untimed warm-up pass (default 20). */
  passes?: number;
}

export interface MemoryReadBandwidth {
  threads: number;
  /** Bytes read per second (1 GB = 1e9 bytes) in the fastest pass: the figure to divide by. */
  best_GBps: number;
  /** Median over the passes; on a shared VM it moves with the neighbours' load. */
  median_GBps: number;
  method: 'c';
}

const SOURCE_PATH = fileURLToPath(new URL('./membw.c', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CACHE_DIR = join(REPO_ROOT, '.cache', 'membw');
/** Tried in order: native vectorisation first, then portable code for compilers that refuse it. */
const FLAG_SETS = [
  ['-O3', '-march=native', '-pthread'],
  ['-O3', '-pthread'],
];
const RUN_TIMEOUT_MS = 300_000;

/** stderr of a failed child process, or the error's message. */
function describe(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr?.trim() || e.message || String(err)).slice(0, 2000);
}

/** The first C compiler that answers `--version`: $CC, cc, gcc, clang. */
async function findCompiler(): Promise<string> {
  const candidates = [process.env.CC, 'cc', 'gcc', 'clang'].filter((c): c is string => !!c);
  for (const cc of candidates) {
    try {
      await execFileAsync(cc, ['--version']);
      return cc;
    } catch {
      // not installed or not runnable; try the next one
    }
  }
  throw new Error(
    `membw: no C compiler found (tried ${candidates.join(', ')}); the memory bandwidth ` +
      'benchmark needs one to read at native speed. Install gcc: apt-get install -y gcc',
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Compiles membw.c into the cache unless this source/compiler/CPU is already built. → binary path */
async function buildBinary(): Promise<string> {
  const source = await readFile(SOURCE_PATH);
  const cc = await findCompiler();
  const key = createHash('sha256')
    .update(source)
    .update(`\0${cc}\0${arch()}\0${cpus()[0]?.model ?? 'unknown cpu'}`)
    .digest('hex')
    .slice(0, 16);
  const binary = join(CACHE_DIR, `membw-${key}`);
  if (await exists(binary)) return binary;
  await mkdir(CACHE_DIR, { recursive: true });
  const tmp = `${binary}.${process.pid}.tmp`;
  const failures: string[] = [];
  for (const flags of FLAG_SETS) {
    try {
      await execFileAsync(cc, [...flags, '-o', tmp, SOURCE_PATH]);
      await rename(tmp, binary);
      return binary;
    } catch (err) {
      failures.push(`${cc} ${flags.join(' ')}: ${describe(err)}`);
    }
  }
  await rm(tmp, { force: true });
  throw new Error(`membw: cannot compile ${SOURCE_PATH}:\n${failures.join('\n')}`);
}

function positiveInt(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
    throw new Error(`membw: ${name} must be an integer >= 1, got ${value}`);
  }
}

/** Parses the binary's one JSON line and checks every number is usable. */
function parseResult(stdout: string): MemoryReadBandwidth {
  const line = stdout.trim().split('\n').pop() ?? '';
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`membw: unexpected output: ${stdout.slice(0, 500)}`);
  }
  const { threads, best_GBps, median_GBps } = raw;
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0;
  if (!ok(threads) || !ok(best_GBps) || !ok(median_GBps)) {
    throw new Error(`membw: bad result: ${line}`);
  }
  return { threads, best_GBps, median_GBps, method: 'c' };
}

/**
 * Measures memory read bandwidth with every thread reading its own slice of a buffer far larger
 * than the caches. Builds the C kernel on first use (needs a C compiler; throws without one).
 */
export async function measureMemoryReadGBps(opts: MemoryReadOptions = {}): Promise<MemoryReadBandwidth> {
  positiveInt('threads', opts.threads);
  positiveInt('bufferMiB', opts.bufferMiB);
  positiveInt('passes', opts.passes);
  const binary = await buildBinary();
  const args: string[] = [];
  if (opts.threads !== undefined) args.push('--threads', String(opts.threads));
  if (opts.bufferMiB !== undefined) args.push('--mib', String(opts.bufferMiB));
  if (opts.passes !== undefined) args.push('--passes', String(opts.passes));
  try {
    const { stdout } = await execFileAsync(binary, args, { timeout: RUN_TIMEOUT_MS });
    return parseResult(stdout);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('membw:')) throw err;
    throw new Error(`membw: ${binary} ${args.join(' ')} failed: ${describe(err)}`, { cause: err });
  }
}
