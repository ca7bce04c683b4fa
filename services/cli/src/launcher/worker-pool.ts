/**
 * Worker processes that can come and go while the platform runs (`duet start --autoscale`): the
 * launcher's side of the autoscaler's `WorkerProcesses`. New workers continue each pool's id
 * sequence (`decode-2`, `decode-3`, …); a worker is stopped only after the autoscaler drained it,
 * and such an exit is expected. Any other exit of a pool worker resolves `died`.
 *
 *   spawn(pool) ─▶ startChild(workerSpec(id)), appended to the platform's children (stop() covers it)
 *   stop(id)    ─▶ SIGTERM (the worker drains — already empty — and exits), SIGKILL after graceMs
 */
import type { LaunchOptions } from './plan.ts';
import { workerSpec } from './plan.ts';
import { startChild, stopChildren, type Child } from './children.ts';

export type PoolName = 'prefill' | 'decode';

export class WorkerProcessPool {
  private readonly next: Record<PoolName, number>;
  private readonly members = new Map<string, { pool: PoolName; child: Child }>();
  private onDeath: ((c: Child) => void) | null = null;
  /** The first worker that exits without being asked to (after a drain). */
  readonly died: Promise<Child>;

  constructor(
    private readonly o: LaunchOptions,
    private readonly logDir: string,
    /** The platform's children: workers already running are adopted, new ones are appended. */
    private readonly children: Child[],
    private readonly graceMs = 10_000,
  ) {
    this.died = new Promise((resolve) => (this.onDeath = resolve));
    this.next = { prefill: o.prefill, decode: o.decode };
    for (const c of children) {
      const pool = poolOf(c.spec.name);
      if (pool) this.adopt(c.spec.name, pool, c);
    }
  }

  private adopt(id: string, pool: PoolName, child: Child): void {
    this.members.set(id, { pool, child });
    void child.exited.then(() => {
      this.members.delete(id);
      if (!child.expectedExit) this.onDeath?.(child);
    });
  }

  list(pool: PoolName): string[] {
    return [...this.members.entries()].filter(([, m]) => m.pool === pool).map(([id]) => id);
  }

  spawn(pool: PoolName): Promise<string> {
    const id = `${pool}-${this.next[pool]++}`;
    const child = startChild(workerSpec(this.o, id), this.logDir);
    this.children.push(child);
    this.adopt(id, pool, child);
    return Promise.resolve(id);
  }

  async stop(id: string): Promise<void> {
    const m = this.members.get(id);
    if (!m) return;
    m.child.expectedExit = true;
    await stopChildren([m.child], this.graceMs);
  }
}

function poolOf(name: string): PoolName | null {
  if (/^prefill-\d+$/.test(name)) return 'prefill';
  if (/^decode-\d+$/.test(name)) return 'decode';
  return null;
}
