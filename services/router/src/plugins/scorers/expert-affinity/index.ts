/**
 * `expert-affinity` scorer (MoE): overlap of the request's predicted expert mix with the mix the
 * decode worker is already running — histogram intersection, averaged over layers, in [0,1]. A
 * batch whose sequences share experts computes fewer experts per step (each expert runs only on
 * its tokens), so co-locating similar requests raises decode throughput. `neutral` when either
 * side is unknown (no profile predicted, or the worker runs nothing known).
 */
import { z } from 'zod';
import { definePlugin, params } from '../../factory.ts';
import { requestProfile } from '../../producers/expert-profile/index.ts';
import { expertOverlap, scoreEach } from '../../util.ts';

export const expertAffinityScorer = definePlugin({
  kind: 'scorer',
  type: 'expert-affinity',
  summary: "overlap of the request's predicted expert mix with the worker's running mix (MoE)",
  parameters: params({ neutral: z.number().min(0).max(1).default(0.5) }),
  create: (p) => ({
    type: 'expert-affinity',
    requires: ['expert-profile'],
    score(ctx, candidates) {
      const profile = requestProfile(ctx);
      return scoreEach(candidates, (c) => {
        const mix = profile ? ctx.state.expertMix(c.id) : null;
        return profile && mix ? expertOverlap(profile, mix) : p.neutral;
      });
    },
  }),
});
