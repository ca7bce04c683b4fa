/** `max-score` picker: the highest weighted score; candidates within `epsilon` of it are a tie, broken at random. */
import { z } from 'zod';
import { definePlugin, params } from '../../factory.ts';

export const maxScorePicker = definePlugin({
  kind: 'picker',
  type: 'max-score',
  summary: 'highest weighted score, random tie-break',
  parameters: params({ epsilon: z.number().min(0).max(1).default(1e-9) }),
  create: (p) => ({
    type: 'max-score',
    requires: [],
    pick(ctx, scored) {
      if (scored.length === 0) return null;
      let best = -Infinity;
      for (const s of scored) best = Math.max(best, s.total);
      const tied = scored.filter((s) => s.total >= best - p.epsilon);
      return tied[Math.min(tied.length - 1, Math.floor(ctx.state.random() * tied.length))];
    },
  }),
});
