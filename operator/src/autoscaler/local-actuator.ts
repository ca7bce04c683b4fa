/**
 * LocalProcessActuator: the planner's hands on this machine. Workers are processes that the local
 * launcher (`npm start --autoscale`) owns; this actuator only asks it to start one more, or, after
 * a drain, to stop one. The launcher side implements `WorkerProcesses` (services/cli), tests use
 * in-process workers behind the same interface.
 */
import type { PoolName } from '../planner/index.ts';
import { DrainingActuator, type DrainDeps } from './actuator.ts';
import type { DrainResult } from './drain.ts';

export interface WorkerProcesses {
  /** Ids of the pool's workers that are running or starting (not yet stopped). */
  list(pool: PoolName): string[];
  /** Starts one more worker of the pool; resolves with its id once the process is spawned. */
  spawn(pool: PoolName): Promise<string>;
  /** Stops a worker that has drained and waits until it is gone. */
  stop(workerId: string): Promise<void>;
}

export class LocalProcessActuator extends DrainingActuator {
  readonly kind = 'local-process';

  constructor(
    private readonly procs: WorkerProcesses,
    deps: DrainDeps,
  ) {
    super(deps);
  }

  protected replicas(pool: PoolName): Promise<number> {
    return Promise.resolve(this.procs.list(pool).length);
  }

  protected candidates(pool: PoolName): Promise<string[]> {
    return Promise.resolve(this.procs.list(pool));
  }

  protected async grow(pool: PoolName, by: number): Promise<void> {
    for (let i = 0; i < by; i++) {
      const id = await this.procs.spawn(pool);
      this.deps.logger.info({ pool, workerId: id }, 'scale-up: worker started');
    }
  }

  protected async remove(_pool: PoolName, workerId: string, _drain: DrainResult): Promise<void> {
    await this.procs.stop(workerId);
  }
}
