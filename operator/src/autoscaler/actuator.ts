/**
 * Actuators carry a plan out. The contract, enforced here once for every backend (local processes,
 * Kubernetes):
 *
 *   current()  replicas that count as capacity: running or starting, minus those draining
 *   apply(d)   grow at once to d; above d, pick victims and drain each before removing it
 *
 * Scale-down never kills a request: a victim is asked to drain over NATS (drain.ts), and only once
 * it holds nothing — or at the drain timeout, logged at error level — is it removed. Drains run in
 * the background; `apply` does not wait for them, and a draining worker no longer counts, so the
 * next plan does not pick a second victim for the same shrink.
 *
 * Victims: the workers holding the least work by their last LoadReport (they drain fastest), then
 * workers that never reported (still starting), then the highest id (numeric-aware: newest first).
 */
import type { Logger, Subjects } from '@duet/core';
import type { NatsConnection } from 'nats';
import { POOLS, type PoolName, type PoolReplicas } from '../planner/index.ts';
import { drainWorker, type DrainResult } from './drain.ts';
import { heldWork, type Fleet } from './fleet.ts';

export interface Actuator {
  readonly kind: string;
  current(): Promise<PoolReplicas>;
  apply(desired: PoolReplicas): Promise<void>;
  /** Worker ids being drained now. */
  draining(): string[];
  /** Resolves when every drain started so far has finished (tests, shutdown). */
  settle(): Promise<DrainResult[]>;
}

export interface DrainDeps {
  nc: NatsConnection;
  subjects: Subjects;
  logger: Logger;
  /** Who asks, in the workers' logs. */
  requesterId: string;
  fleet: Fleet;
  drainTimeoutMs: () => number;
  drainPollMs?: number;
  now?: () => number;
  /** Called after every completed drain-and-remove. */
  onDrained?: (pool: PoolName, result: DrainResult) => void;
}

/** Victims for a shrink of `count`: least held work, then not yet reporting, then highest id. */
export function pickVictims(candidates: readonly string[], count: number, fleet: Fleet): string[] {
  const rank = (id: string): [number, number] => {
    const w = fleet.get(id);
    return [w?.load ? 0 : 1, heldWork(w)];
  };
  return [...candidates]
    .sort((a, b) => {
      const [ra, rb] = [rank(a), rank(b)];
      if (ra[1] !== rb[1]) return ra[1] - rb[1];
      if (ra[0] !== rb[0]) return rb[0] - ra[0];
      return b.localeCompare(a, 'en', { numeric: true });
    })
    .slice(0, Math.max(0, count));
}

export abstract class DrainingActuator implements Actuator {
  abstract readonly kind: string;
  private readonly inFlight = new Map<string, { pool: PoolName; done: Promise<DrainResult | null> }>();

  constructor(protected readonly deps: DrainDeps) {}

  /** Every replica of the pool, draining ones included (local: processes; kube: scale spec). */
  protected abstract replicas(pool: PoolName): Promise<number>;
  /** Worker ids that may be picked for removal (kube: pod names; local: process ids). */
  protected abstract candidates(pool: PoolName): Promise<string[]>;
  protected abstract grow(pool: PoolName, by: number): Promise<void>;
  /** Before the drain request (kube: pod-deletion-cost). */
  protected beforeDrain(_pool: PoolName, _workerId: string): Promise<void> {
    return Promise.resolve();
  }
  /** After the drain: take the worker away for good. */
  protected abstract remove(pool: PoolName, workerId: string, drain: DrainResult): Promise<void>;

  draining(): string[] {
    return [...this.inFlight.keys()].sort();
  }

  private drainingIn(pool: PoolName): number {
    return [...this.inFlight.values()].filter((d) => d.pool === pool).length;
  }

  async current(): Promise<PoolReplicas> {
    const out = {} as PoolReplicas;
    for (const pool of POOLS) out[pool] = Math.max(0, (await this.replicas(pool)) - this.drainingIn(pool));
    return out;
  }

  async apply(desired: PoolReplicas): Promise<void> {
    const now = await this.current();
    for (const pool of POOLS) {
      const diff = desired[pool] - now[pool];
      if (diff > 0) await this.grow(pool, diff);
      if (diff < 0) {
        const free = (await this.candidates(pool)).filter((id) => !this.inFlight.has(id));
        for (const id of pickVictims(free, -diff, this.deps.fleet)) this.startDrain(pool, id);
      }
    }
  }

  private startDrain(pool: PoolName, workerId: string): void {
    const { logger } = this.deps;
    logger.info({ pool, workerId }, 'scale-down: draining before removal');
    const done = (async (): Promise<DrainResult | null> => {
      try {
        await this.beforeDrain(pool, workerId);
        const result = await drainWorker({ ...this.deps, workerId, timeoutMs: this.deps.drainTimeoutMs(), ...(this.deps.drainPollMs ? { pollMs: this.deps.drainPollMs } : {}) });
        await this.remove(pool, workerId, result);
        logger.info({ pool, ...result }, 'scale-down: worker removed');
        this.deps.onDrained?.(pool, result);
        return result;
      } catch (err) {
        logger.error({ pool, workerId, err: String(err) }, 'scale-down failed; the next plan retries');
        return null;
      } finally {
        this.inFlight.delete(workerId);
      }
    })();
    this.inFlight.set(workerId, { pool, done });
  }

  async settle(): Promise<DrainResult[]> {
    const out: DrainResult[] = [];
    while (this.inFlight.size > 0) {
      for (const r of await Promise.all([...this.inFlight.values()].map((d) => d.done))) if (r) out.push(r);
    }
    return out;
  }
}
