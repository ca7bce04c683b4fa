/**
 * A router-like process for accounting-replicas.int.test.ts: it makes placement decisions against
 * shared Redis accounting exactly as the router's decision loop does (read → pick least loaded →
 * reserve if the version is unchanged, re-read on conflict), then replays completion events.
 *
 * Run: node --import tsx accounting-driver.ts, with env DRIVER_REDIS_URL, DRIVER_KEY_PREFIX,
 * DRIVER_NAME (this process), DRIVER_NAMES (all processes, comma separated), DRIVER_N (decisions),
 * DRIVER_DECODE / DRIVER_PREFILL (worker counts), DRIVER_MAX_RETRIES.
 * Protocol, one JSON object per stdout line, commands one per stdin line:
 *   → {"type":"ready"}                      (connected, scripts loaded)
 *   ← go       → {"type":"reserved", decisions, conflicts, fallbacks, elapsedMs}
 *   ← release  → {"type":"released", elapsedMs}   (every process replays every event)
 *   ← exit     (closes and exits 0)
 */
import { createInterface } from 'node:readline';
import { RedisAccounting, loadOf, type AccountingView, type Reservation } from '../src/accounting/index.ts';

/** One placement and the accounting version it was decided against (-1: an unconditional fallback). */
export type Decision = [requestId: string, prefillWorkerId: string, prefillTokens: number, decodeWorkerId: string, decodeBlocks: number, atVersion: number];

/** The request sizes are a pure function of the index, so the test can recompute every release. */
export const prefillTokensOf = (i: number): number => 1 + ((i * 7919) % 500);
export const decodeBlocksOf = (i: number): number => 1 + (i % 4);
/** Completion events replayed per request index: PREFILL_DONE for i % 3 == 0, FINISHED for i % 4 == 0. */
export const releasesOf = (i: number): Array<'prefill' | 'all'> => [...(i % 3 === 0 ? ['prefill' as const] : []), ...(i % 4 === 0 ? ['all' as const] : [])];

function leastBy(ids: string[], load: (id: string) => number): string {
  let best: string[] = [];
  let min = Infinity;
  for (const id of ids) {
    const l = load(id);
    if (l < min) [min, best] = [l, [id]];
    else if (l === min) best.push(id);
  }
  return best[Math.floor(Math.random() * best.length)];
}

function env(key: string): string {
  const v = process.env[key];
  if (!v) throw new Error(`accounting-driver: env ${key} is required`);
  return v;
}

class Driver {
  private readonly name = env('DRIVER_NAME');
  private readonly names = env('DRIVER_NAMES').split(',');
  private readonly n = Number(env('DRIVER_N'));
  private readonly decodeIds = Array.from({ length: Number(env('DRIVER_DECODE')) }, (_, i) => `d${i}`);
  private readonly prefillIds = Array.from({ length: Number(env('DRIVER_PREFILL')) }, (_, i) => `p${i}`);
  private readonly maxRetries = Number(env('DRIVER_MAX_RETRIES'));
  readonly acc = new RedisAccounting({ redisUrl: env('DRIVER_REDIS_URL'), keyPrefix: env('DRIVER_KEY_PREFIX') });

  private pick(view: AccountingView, i: number): Reservation {
    return {
      requestId: `${this.name}-${i}`,
      prefillWorkerId: leastBy(this.prefillIds, (w) => loadOf(view, w).prefillTokens),
      prefillTokens: prefillTokensOf(i),
      decodeWorkerId: leastBy(this.decodeIds, (w) => loadOf(view, w).runningSeqs),
      decodeBlocks: decodeBlocksOf(i),
    };
  }

  /** One decision: bounded conditional attempts, then an unconditional reserve (counted). */
  private async decide(i: number, stats: { conflicts: number; fallbacks: number }): Promise<Decision> {
    const decision = (r: Reservation, atVersion: number): Decision => [r.requestId, r.prefillWorkerId!, r.prefillTokens, r.decodeWorkerId, r.decodeBlocks, atVersion];
    for (let attempt = 0; attempt <= this.maxRetries; attempt++) {
      const view = await this.acc.read();
      const candidate = this.pick(view, i);
      if (await this.acc.reserve(candidate, { ifVersion: view.version })) return decision(candidate, view.version);
      stats.conflicts++;
    }
    stats.fallbacks++;
    const r = this.pick(await this.acc.read(), i);
    await this.acc.reserve(r);
    return decision(r, -1);
  }

  async reserveAll(): Promise<object> {
    const t0 = performance.now();
    const stats = { conflicts: 0, fallbacks: 0 };
    const decisions: Decision[] = [];
    for (let i = 0; i < this.n; i++) decisions.push(await this.decide(i, stats));
    return { type: 'reserved', decisions, ...stats, elapsedMs: performance.now() - t0 };
  }

  async releaseAll(): Promise<object> {
    const t0 = performance.now();
    // Processes walk the events in different orders, so duplicate releases race each other.
    const order = Array.from({ length: this.n }, (_, i) => i);
    if (this.names.indexOf(this.name) % 2 === 1) order.reverse();
    for (const i of order) {
      for (const other of this.names) {
        for (const phase of releasesOf(i)) await this.acc.release(`${other}-${i}`, phase);
      }
    }
    return { type: 'released', elapsedMs: performance.now() - t0 };
  }
}

const say = (msg: object) => process.stdout.write(`${JSON.stringify(msg)}\n`);

async function main(): Promise<void> {
  const d = new Driver();
  await d.acc.read();
  say({ type: 'ready' });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'go') say(await d.reserveAll());
    else if (line === 'release') say(await d.releaseAll());
    else if (line === 'exit') break;
    else throw new Error(`accounting-driver: unknown command ${JSON.stringify(line)}`);
  }
  await d.acc.close();
}

if (process.env.DRIVER_NAME) {
  main().catch((err: unknown) => {
    process.stderr.write(`accounting-driver ${process.env.DRIVER_NAME}: ${String((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  });
}
