/**
 * Synthetic workloads with a known sharing structure.
 *
 * shared-prefix (a B2B assistant): N system prompts × M questions. Request (g, q) is
 * system(g) ‖ question(g, q); the N·M requests come in a seeded shuffled order, so each group's
 * first request pays for its system prompt and the others can reuse it.
 *
 * multi-turn chat: S sessions of T turns. Each turn extends the last:
 *
 *   turn 0   system ‖ user0
 *   turn 1   system ‖ user0 ‖ reply0 ‖ user1
 *   turn t   prompt(t−1) ‖ reply(t−1) ‖ user(t)
 *
 * reply(t) is a synthetic assistant answer of `maxTokens` tokens (the real answer is not fed back,
 * so the workload is the same list for the load tester and the simulator); the prompt of turn t−1
 * is the reusable prefix. Turn t is sent only after turn t−1 ended, plus `thinkMs`. A session stops
 * before a turn whose prompt + output would pass `maxContextTokens`.
 */
import { Rng } from './rng.ts';
import { blockTokens, randomTokens } from './tokens.ts';
import { WorkloadError, type TokenRange, type Workload, type WorkloadRequest } from './types.ts';

export interface SharedPrefixOptions {
  groups: number;
  questionsPerGroup: number;
  systemTokens: number;
  questionTokens: number;
  maxTokens: number;
  range: TokenRange;
  seed?: number;
}

export interface MultiTurnOptions {
  sessions: number;
  turns: number;
  systemTokens: number;
  userTokens: number;
  maxTokens: number;
  thinkMs: number;
  maxContextTokens: number;
  range: TokenRange;
  seed?: number;
}

function positive(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new WorkloadError(`${name} must be a positive integer, got ${v}`);
}

export function sharedPrefixWorkload(o: SharedPrefixOptions): Workload {
  for (const k of ['groups', 'questionsPerGroup', 'systemTokens', 'questionTokens', 'maxTokens'] as const) positive(k, o[k]);
  const seed = o.seed ?? 0;
  // The system prompt of group g is block(g) of systemTokens tokens: distinct per group by construction.
  const systems = Array.from({ length: o.groups }, (_, g) => blockTokens(g, o.systemTokens, o.range, seed));
  const qRng = new Rng(seed, 0x51);
  const requests: WorkloadRequest[] = [];
  for (let g = 0; g < o.groups; g++) {
    for (let q = 0; q < o.questionsPerGroup; q++) {
      requests.push({ id: '', arrivalMs: 0, promptIds: [...systems[g], ...randomTokens(qRng, o.questionTokens, o.range)], maxTokens: o.maxTokens, prefixGroup: `system-${g}` });
    }
  }
  new Rng(seed, 0x52).shuffle(requests);
  requests.forEach((r, i) => (r.id = `shared-prefix-${i}`));
  return {
    name: 'shared-prefix',
    description: `${o.groups} system prompts × ${o.questionsPerGroup} questions (${o.systemTokens} + ${o.questionTokens} prompt tokens, ${o.maxTokens} out)`,
    requests,
    timed: false,
    params: { groups: o.groups, questions_per_group: o.questionsPerGroup, system_tokens: o.systemTokens, question_tokens: o.questionTokens, max_tokens: o.maxTokens, seed },
  };
}

export function multiTurnWorkload(o: MultiTurnOptions): Workload {
  for (const k of ['sessions', 'turns', 'systemTokens', 'userTokens', 'maxTokens'] as const) positive(k, o[k]);
  if (!(o.thinkMs >= 0)) throw new WorkloadError(`thinkMs must be ≥ 0, got ${o.thinkMs}`);
  const seed = o.seed ?? 0;
  const rng = new Rng(seed, 0x77);
  const bySession: WorkloadRequest[][] = [];
  for (let s = 0; s < o.sessions; s++) {
    const turns: WorkloadRequest[] = [];
    let context = randomTokens(rng, o.systemTokens, o.range);
    for (let t = 0; t < o.turns; t++) {
      const prompt = [...context, ...randomTokens(rng, o.userTokens, o.range)];
      if (prompt.length + o.maxTokens > o.maxContextTokens) break;
      turns.push({ id: `s${s}-t${t}`, arrivalMs: 0, promptIds: prompt, maxTokens: o.maxTokens, session: { id: `s${s}`, turn: t, thinkMs: o.thinkMs }, prefixGroup: `s${s}` });
      context = [...prompt, ...randomTokens(rng, o.maxTokens, o.range)];
    }
    if (turns.length === 0) throw new WorkloadError(`max context ${o.maxContextTokens} cannot hold the first turn (${o.systemTokens + o.userTokens} + ${o.maxTokens} tokens)`);
    bySession.push(turns);
  }
  // Turn-major order: every session's turn 0, then every turn 1 …, so a closed loop rarely waits.
  const requests = Array.from({ length: o.turns }, (_, t) => bySession.flatMap((turns) => (turns[t] ? [turns[t]] : []))).flat();
  return {
    name: 'multi-turn',
    description: `${o.sessions} chat sessions × up to ${o.turns} turns (each turn extends the last), ${o.thinkMs} ms think time`,
    requests,
    timed: false,
    params: { sessions: o.sessions, turns: o.turns, system_tokens: o.systemTokens, user_tokens: o.userTokens, max_tokens: o.maxTokens, think_ms: o.thinkMs, seed },
  };
}
