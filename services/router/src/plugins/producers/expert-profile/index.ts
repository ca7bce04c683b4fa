/**
 * `expert-profile` producer: the request's predicted expert mix (MoE models), looked up from the
 * profiles prefill workers reported for earlier prompts sharing a prefix with this one (the
 * longest known prefix wins). Null when no prefix of the prompt has a profile yet, or the model is
 * dense: the expert scorers then return their neutral score.
 */
import { definePlugin, params } from '../../factory.ts';
import type { DecisionContext, ExpertVector } from '../../types.ts';

const MEMO = 'expert-profile';

export function requestProfile(ctx: DecisionContext): ExpertVector | null {
  if (ctx.memo.has(MEMO)) return ctx.memo.get(MEMO) as ExpertVector | null;
  const p = ctx.request.blockHashes.length ? ctx.state.predictProfile(ctx.request.blockHashes) : null;
  ctx.memo.set(MEMO, p);
  return p;
}

export const expertProfileProducer = definePlugin({
  kind: 'producer',
  type: 'expert-profile',
  summary: "the request's predicted per-layer expert mix, from profiles of known prefixes (MoE)",
  parameters: params({}),
  create: () => ({
    type: 'expert-profile',
    produce(ctx) {
      requestProfile(ctx);
    },
  }),
});
