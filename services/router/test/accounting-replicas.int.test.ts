/**
 * Two router processes, one Redis: each runs the decision loop (read → pick least loaded →
 * reserve if the version is unchanged) for N requests at the same time, then both replay every
 * completion event (as every replica receives every event). Asserted:
 *   (a) no lost update: the shared counters equal Σ reservations − Σ releases exactly, and the
 *       version moved once per reservation;
 *   (b) consistent decisions: the decisions of both processes, ordered by the version each was
 *       made against, are exactly versions 0 … 2N−1 (one linear history), and replaying that history
 *       as one router shows every pick was least loaded in the state it saw; hence the per-worker
 *       decode counts differ by at most 1 and prefill tokens by at most the largest request.
 *       (Counts alone would not catch two uncoordinated routers: each balancing its own view also
 *       balances the sum; the replay does.)
 * The 2-process decisions/s is printed as a test diagnostic.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, describe, it, type TestContext } from 'node:test';
import { uniqueKeyPrefix, withServers } from '@duet/testkit';
import { RedisAccounting, type AccountingView } from '../src/accounting/index.ts';
import { table, type LoadTable } from './accounting-contract.ts';
import { releasesOf, type Decision } from './accounting-driver.ts';

const N = 600;
const DECODE_WORKERS = 4;
const PREFILL_WORKERS = 2;
const MAX_TOKENS_PER_REQUEST = 500;
const NAMES = ['A', 'B'];
const REPO_ROOT = new URL('../../../', import.meta.url).pathname;
const DRIVER = new URL('./accounting-driver.ts', import.meta.url).pathname;

interface Reserved {
  type: 'reserved';
  decisions: Decision[];
  conflicts: number;
  fallbacks: number;
  elapsedMs: number;
}

/** One driver child process and its line protocol (see accounting-driver.ts). */
class DriverProcess {
  private readonly child: ChildProcess;
  private readonly queue: Array<{ type: string }> = [];
  private waiter: (() => void) | null = null;
  private stderr = '';
  private exitCode: number | null | undefined;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', DRIVER], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (b: Buffer) => (this.stderr = (this.stderr + b.toString()).slice(-4000)));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.queue.push(JSON.parse(line) as { type: string });
      this.waiter?.();
    });
    this.child.on('exit', (code) => {
      this.exitCode = code;
      this.waiter?.();
    });
  }

  send(cmd: string): void {
    this.child.stdin!.write(`${cmd}\n`);
  }

  /** The next message, which must be of `type`; rejects if the process exits first. */
  async next<T extends { type: string }>(type: T['type']): Promise<T> {
    while (this.queue.length === 0) {
      if (this.exitCode !== undefined) throw new Error(`driver exited (${this.exitCode}) before "${type}": ${this.stderr}`);
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = null;
    }
    const msg = this.queue.shift()!;
    assert.equal(msg.type, type, `driver said ${JSON.stringify(msg).slice(0, 200)}`);
    return msg as T;
  }

  async stop(): Promise<void> {
    if (this.exitCode !== undefined) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.send('exit');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

const drivers: DriverProcess[] = [];
// Registered before withServers: the drivers stop while Redis is still up.
after(() => Promise.all(drivers.map((d) => d.stop())));
const servers = withServers({ nats: false, redis: true });

/** The load table the decisions imply, with the given parts already released per request. */
function expectedTable(decisions: Decision[], released: (requestId: string) => { prefill: boolean; decode: boolean }): LoadTable {
  const t: LoadTable = {};
  const add = (w: string, i: 0 | 1 | 2, v: number) => {
    const row = (t[w] ??= [0, 0, 0]);
    row[i] += v;
  };
  for (const [id, p, tokens, d, blocks] of decisions) {
    const r = released(id);
    if (!r.prefill) add(p, 0, tokens);
    if (!r.decode) {
      add(d, 1, blocks);
      add(d, 2, 1);
    }
  }
  for (const w of Object.keys(t)) if (t[w].every((x) => x === 0)) delete t[w];
  return Object.fromEntries(Object.entries(t).sort(([a], [b]) => a.localeCompare(b)));
}

function spread(view: AccountingView, ids: string[], of: (w: string) => number): number {
  const xs = ids.map(of);
  assert.ok(view.loads.size > 0);
  return Math.max(...xs) - Math.min(...xs);
}

/**
 * Replays the decisions as one router, in version order: versions must be exactly 0 … n−1, and at
 * each step the chosen workers must have had the least load among their kind. Returns the first
 * violation, or null.
 */
function replayAsOneRouter(decisions: Decision[], decodeIds: string[], prefillIds: string[]): string | null {
  const ordered = [...decisions].sort((a, b) => a[5] - b[5]);
  const seqs = new Map(decodeIds.map((w) => [w, 0]));
  const tokens = new Map(prefillIds.map((w) => [w, 0]));
  for (const [k, [id, p, t, d, , at]] of ordered.entries()) {
    if (at !== k) return `decision ${id} was made at version ${at}, expected ${k} (duplicate or missing version)`;
    const minSeqs = Math.min(...seqs.values());
    if (seqs.get(d) !== minSeqs) return `decision ${id} at version ${at} chose ${d} with ${seqs.get(d)} sequences; the least was ${minSeqs}`;
    const minTokens = Math.min(...tokens.values());
    if (tokens.get(p) !== minTokens) return `decision ${id} at version ${at} chose ${p} with ${tokens.get(p)} prefill tokens; the least was ${minTokens}`;
    seqs.set(d, minSeqs + 1);
    tokens.set(p, minTokens + t);
  }
  return null;
}

void describe('two router processes sharing accounting through Redis', () => {
  it('concurrent decisions lose no update and balance as one router would', { timeout: 180_000 }, async (t: TestContext) => {
    const prefix = uniqueKeyPrefix();
    const env = (name: string) => ({
      DRIVER_REDIS_URL: servers.redis.url,
      DRIVER_KEY_PREFIX: prefix,
      DRIVER_NAME: name,
      DRIVER_NAMES: NAMES.join(','),
      DRIVER_N: String(N),
      DRIVER_DECODE: String(DECODE_WORKERS),
      DRIVER_PREFILL: String(PREFILL_WORKERS),
      DRIVER_MAX_RETRIES: '1000',
    });
    const procs = NAMES.map((name) => new DriverProcess(env(name)));
    drivers.push(...procs);
    const observer = new RedisAccounting({ redisUrl: servers.redis.url, keyPrefix: prefix, readCacheMs: 0 });
    t.after(() => observer.close());
    await Promise.all(procs.map((p) => p.next('ready')));

    const t0 = performance.now();
    procs.forEach((p) => p.send('go'));
    const reserved = await Promise.all(procs.map((p) => p.next<Reserved>('reserved')));
    const wallMs = performance.now() - t0;
    const decisions = reserved.flatMap((r) => r.decisions);
    const conflicts = reserved.reduce((s, r) => s + r.conflicts, 0);
    t.diagnostic(
      `2 router processes: ${decisions.length} decisions in ${wallMs.toFixed(0)} ms = ${Math.round(decisions.length / (wallMs / 1000))} decisions/s ` +
        `(per process ${reserved.map((r) => Math.round(N / (r.elapsedMs / 1000))).join(' / ')} decisions/s; ${conflicts} version conflicts re-decided)`,
    );

    assert.equal(new Set(decisions.map((d) => d[0])).size, 2 * N);
    assert.deepEqual(reserved.map((r) => r.fallbacks), [0, 0], 'a decision fell back to an unconditional reserve');
    assert.ok(conflicts > 0, 'the two processes never contended: the run proves nothing about concurrency');

    // (a) every reservation counted exactly once.
    const view = await observer.read();
    assert.equal(view.version, 2 * N);
    assert.deepEqual(table(view), expectedTable(decisions, () => ({ prefill: false, decode: false })));

    // (b) one linear history of least-loaded picks, hence balanced as one router would be.
    const decodeIds = Array.from({ length: DECODE_WORKERS }, (_, i) => `d${i}`);
    const prefillIds = Array.from({ length: PREFILL_WORKERS }, (_, i) => `p${i}`);
    assert.equal(replayAsOneRouter(decisions, decodeIds, prefillIds), null);
    // The history really interleaves the two processes (not A's run, then B's).
    const history = [...decisions].sort((a, b) => a[5] - b[5]);
    const switches = history.filter(([id], k) => k > 0 && id[0] !== history[k - 1][0][0]).length;
    t.diagnostic(`history switches between processes ${switches} times in ${history.length} decisions`);
    // Optimistic CAS is not fair (the process that just won holds the fresher view and tends to win
    // again), so the number of switches varies with scheduling; what must hold is that the runs
    // overlap: both processes decide within the middle half of the history, and they alternate.
    const middle = history.slice(Math.floor(history.length / 4), Math.ceil((history.length * 3) / 4));
    assert.ok(new Set(middle.map(([id]) => id[0])).size === 2, 'both processes decided in the middle half of the history');
    assert.ok(switches >= 5, `only ${switches} switches between processes: they barely ran concurrently`);
    const seqs = spread(view, decodeIds, (w) => view.loads.get(w)?.runningSeqs ?? 0);
    assert.ok(seqs <= 1, `decode counts ${JSON.stringify(decodeIds.map((w) => view.loads.get(w)?.runningSeqs))} differ by ${seqs}`);
    const tokens = spread(view, prefillIds, (w) => view.loads.get(w)?.prefillTokens ?? 0);
    assert.ok(tokens <= MAX_TOKENS_PER_REQUEST, `prefill tokens differ by ${tokens} > ${MAX_TOKENS_PER_REQUEST}`);

    // Both processes replay every completion event, concurrently and in opposite orders.
    procs.forEach((p) => p.send('release'));
    await Promise.all(procs.map((p) => p.next('released')));
    const index = (id: string) => Number(id.slice(id.indexOf('-') + 1));
    const expected = expectedTable(decisions, (id) => {
      const phases = releasesOf(index(id));
      return { prefill: phases.length > 0, decode: phases.includes('all') };
    });
    assert.deepEqual(table(await observer.read()), expected);
  });
});
