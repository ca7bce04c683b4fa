/**
 * `healthy` filter: the worker is READY (not draining or stopping), serves the request's model and
 * is not in the request's exclude list (a retry after a dead worker names it there). Liveness itself
 * (heartbeats within `missedBeats` intervals) is the registry's job: expired workers never reach
 * a stage.
 */
import { WorkerState } from '@duet/core';
import { definePlugin, params } from '../../factory.ts';

export const healthyFilter = definePlugin({
  kind: 'filter',
  type: 'healthy',
  summary: 'READY workers serving the model, not excluded by the request',
  parameters: params({}),
  create: () => ({
    type: 'healthy',
    filter(ctx, candidates) {
      const req = ctx.request;
      const excluded = req.excludeWorkerIds.length ? new Set(req.excludeWorkerIds) : null;
      return candidates.filter((c) => c.worker.state === WorkerState.READY && !excluded?.has(c.id) && (!req.model || c.worker.info.model === req.model));
    },
  }),
});
