/** `round-robin` picker: candidates in worker-id order, one cursor per stage instance. Ignores scores. */
import { definePlugin, params } from '../../factory.ts';

export const roundRobinPicker = definePlugin({
  kind: 'picker',
  type: 'round-robin',
  summary: 'rotate over candidates in worker-id order (the baseline)',
  parameters: params({}),
  create: () => {
    let cursor = 0;
    return {
      type: 'round-robin',
      requires: [],
      pick(_ctx, scored) {
        if (scored.length === 0) return null;
        const byId = [...scored].sort((a, b) => (a.candidate.id < b.candidate.id ? -1 : 1));
        return byId[cursor++ % byId.length];
      },
    };
  },
});
