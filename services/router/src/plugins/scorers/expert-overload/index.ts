/**
 * `expert-overload` scorer (MoE): penalises a decode worker whose experts that this request needs
 * are already saturated. Pressure P[l][e] is the expected number of running sequences routed to
 * expert e of layer l on the worker; score = 1 − mean_l Σ_e p[l][e] · min(1, P[l][e] / saturationSeqs).
 * `neutral` without a prediction.
 */
import { z } from 'zod';
import { definePlugin, params } from '../../factory.ts';
import { requestProfile } from '../../producers/expert-profile/index.ts';
import { clamp01, scoreEach } from '../../util.ts';
import type { ExpertVector } from '../../types.ts';

function overload(p: ExpertVector, pressure: ExpertVector, saturation: number): number {
  if (p.layers !== pressure.layers || p.experts !== pressure.experts || p.layers === 0) return 0;
  let s = 0;
  for (let i = 0; i < p.values.length; i++) s += p.values[i] * Math.min(1, pressure.values[i] / saturation);
  return s / p.layers;
}

export const expertOverloadScorer = definePlugin({
  kind: 'scorer',
  type: 'expert-overload',
  summary: 'penalise workers whose experts this request needs are already saturated (MoE)',
  parameters: params({
    /** Concurrent sequences on one expert at which it counts as saturated. */
    saturationSeqs: z.number().positive().default(8),
    neutral: z.number().min(0).max(1).default(1),
  }),
  create: (p) => ({
    type: 'expert-overload',
    requires: ['expert-profile'],
    score(ctx, candidates) {
      const profile = requestProfile(ctx);
      return scoreEach(candidates, (c) => {
        const pressure = profile ? ctx.state.expertPressure(c.id) : null;
        return profile && pressure ? clamp01(1 - overload(profile, pressure, p.saturationSeqs)) : p.neutral;
      });
    },
  }),
});
