/**
 * `npm run bench:routing-policies`: the local platform (2 prefill + 2 decode worker processes, the
 * launcher `npm start` uses) under each routing policy, one fresh platform per run (so no run
 * inherits another's KV cache), a warm-up that shares no prefix with the workload, then the
 * measured run through the load tester (@duet/loadtest). Two parts:
 *
 *   dense  small Llama, shared-prefix workload (G system prompts × M questions, Poisson arrivals)
 *          at a rate where round-robin is overloaded (`--rate`, default 5 req/s), and a KV cache per worker that holds about
 *          half of the system prompts (the cache-oversubscribed regime where placement matters):
 *          round-robin, least-load, prefix-load, prefix-load-expert.
 *   moe    domain-structured MoE (`--moe-preset`, default `bench`: 8 experts top-2, 8 layers × 512;
 *          workers on `--moe-threads` 1 engine thread each, so the four share the two cores instead
 *          of fighting over them), mixed-domain shared-prefix workload (two token domains, each with
 *          its own system prompts; closed loop): prefix-load vs prefix-load-expert, alternated
 *          `--moe-rounds` times, compared on output tokens/s (mean of the rounds, and each round's
 *          ratio). The `small` preset decodes a step in ~3 ms, so per-token work outside the
 *          engine (NATS, gateway, load tester, all on the same two cores) hides most of a decode
 *          step's difference; on `bench` the decode steps dominate, as they do in production.
 *
 * Each policy row: {policy, prefix_hit_rate, hit_rate_upper_bound, ttft_mean_ms, ttft_p90_ms,
 * tpot_mean_ms, output_tps}. Targets checked (and printed): prefix-load reaches ≥ 0.9 × the upper
 * bound hit rate and ≤ 0.5 × round-robin's mean TTFT; prefix-load-expert beats prefix-load on
 * output_tps (MoE). Progress on stderr; the last stdout line is one JSON object.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { domainPromptIds, ensureModel, GENERATOR_VERSION, MODEL_PRESETS, type DomainName, type PresetName } from '@duet/engine';
import { Rng, runLoadTest, sharedPrefixWorkload, tokenRangeForVocab, warmUp, warmupRequests, type ArrivalSpec, type LoadTestResult, type Workload, type WorkloadRequest } from '@duet/loadtest';
import { freePort } from '@duet/testkit';
import { cacheDir } from '../src/commands/demo.ts';
import { launchPlatform, runLogDir } from '../src/launcher/platform.ts';

const { values: a } = parseArgs({
  options: {
    groups: { type: 'string', default: '12' },
    questions: { type: 'string', default: '6' },
    'system-tokens': { type: 'string', default: '1024' },
    'question-tokens': { type: 'string', default: '32' },
    rate: { type: 'string', default: '5' },
    'kv-cache-mib': { type: 'string', default: '40' },
    'moe-rounds': { type: 'string', default: '6' },
    'moe-questions': { type: 'string', default: '16' },
    'moe-concurrency': { type: 'string', default: '8' },
    'moe-max-tokens': { type: 'string', default: '64' },
    'moe-preset': { type: 'string', default: 'bench' },
    'moe-threads': { type: 'string', default: '1' },
    'moe-kv-cache-mib': { type: 'string', default: '256' },
    only: { type: 'string' },
  },
});
const num = (k: keyof typeof a): number => Number(a[k]);
const log = (s: string): void => void process.stderr.write(`routing-bench: ${s}\n`);

const DENSE_POLICIES = ['round-robin', 'least-load', 'prefix-load', 'prefix-load-expert'] as const;
const MOE_POLICIES = ['prefix-load', 'prefix-load-expert'] as const;
const VOCAB = 8000; // the small preset (dense part)

interface Row {
  policy: string;
  prefix_hit_rate: number | null;
  hit_rate_upper_bound: number;
  ttft_mean_ms: number | null;
  ttft_p90_ms: number | null;
  tpot_mean_ms: number | null;
  output_tps: number;
  errors: number;
}

function row(policy: string, r: LoadTestResult): Row {
  const round = (x: number | null, d = 1): number | null => (x === null ? null : Number(x.toFixed(d)));
  return {
    policy,
    prefix_hit_rate: round(r.prefix_hit_rate, 3),
    hit_rate_upper_bound: Number(r.prefix_hit_rate_upper_bound.toFixed(3)),
    ttft_mean_ms: round(r.ttft_mean_ms),
    ttft_p90_ms: round(r.ttft_p90_ms),
    tpot_mean_ms: round(r.tpot_mean_ms),
    output_tps: Number(r.output_token_throughput_tps.toFixed(2)),
    errors: r.failed,
  };
}

async function runPolicy(modelDir: string, policy: string, workload: Workload, arrival: ArrivalSpec, kvCacheMib: number, threads?: number): Promise<Row> {
  const platform = await launchPlatform({
    port: await freePort(), host: '127.0.0.1', modelDir, prefill: 2, decode: 2, transport: 'nats', backend: 'wasm',
    kvCacheMib, policy, ...(threads !== undefined ? { threads } : {}), logDir: runLogDir(cacheDir()), readyTimeoutMs: 180_000,
  });
  try {
    const model = modelDir.split('/').at(-1)!;
    const url = platform.gatewayUrl;
    await warmUp({ url, model, requests: warmupRequests(4, 64, 4, { lo: 300, hi: 700 }) });
    log(`${policy}: running ${workload.requests.length} requests (${workload.name})`);
    const { result } = await runLoadTest({ url, model, workload, arrival, progress: null, timeoutMs: 600_000 });
    const r = row(policy, result);
    log(`${policy}: ${JSON.stringify(r)}`);
    return r;
  } finally {
    await platform.stop();
  }
}

/** Two domains, S system prompts each, M questions per system prompt, all tokens of the domain. */
function domainSharedPrefix(vocabSize: number, systems: number, questions: number, systemTokens: number, questionTokens: number, maxTokens: number): Workload {
  const domains: DomainName[] = ['code', 'math'];
  const requests: WorkloadRequest[] = [];
  let n = 0;
  for (const domain of domains) {
    for (let s = 0; s < systems; s++) {
      const system = domainPromptIds({ vocabSize }, domain, systemTokens, 1000 + s);
      for (let q = 0; q < questions; q++) {
        const question = domainPromptIds({ vocabSize }, domain, questionTokens, 5000 + n);
        requests.push({ id: `moe-${n++}`, arrivalMs: 0, promptIds: [...system, ...question], maxTokens, prefixGroup: `${domain}-${s}`, domain });
      }
    }
  }
  new Rng(17).shuffle(requests); // a seeded interleaving of the domains
  return {
    name: 'moe-domain-shared-prefix',
    description: `2 domains × ${systems} system prompts × ${questions} questions (${systemTokens} + ${questionTokens} tokens, ${maxTokens} out)`,
    requests,
    timed: false,
    params: { systems, questions, system_tokens: systemTokens, question_tokens: questionTokens, max_tokens: maxTokens },
  };
}

async function dense(): Promise<Row[]> {
  const dir = await ensureModel({ arch: 'llama', preset: 'small', seed: 0, outDir: join(cacheDir(), 'models', `small-llama-s0-g${GENERATOR_VERSION}`) });
  const workload = sharedPrefixWorkload({
    groups: num('groups'), questionsPerGroup: num('questions'), systemTokens: num('system-tokens'), questionTokens: num('question-tokens'),
    maxTokens: 8, range: tokenRangeForVocab(VOCAB), seed: 7,
  });
  const rows: Row[] = [];
  for (const p of DENSE_POLICIES) rows.push(await runPolicy(dir, p, workload, { kind: 'poisson', ratePerS: num('rate'), seed: 11 }, num('kv-cache-mib')));
  return rows;
}

async function moe(): Promise<{ rounds: Row[][]; mean: Row[]; ratios: number[] }> {
  const preset = a['moe-preset'] as PresetName;
  if (!(preset in MODEL_PRESETS.moe)) throw new RangeError(`--moe-preset must be one of ${Object.keys(MODEL_PRESETS.moe).join(', ')}`);
  const dir = await ensureModel({ arch: 'moe', preset, seed: 0, outDir: join(cacheDir(), 'models', `${preset}-moe-s0-g${GENERATOR_VERSION}`) });
  const workload = domainSharedPrefix(MODEL_PRESETS.moe[preset].vocabSize, 3, num('moe-questions'), 256, 16, num('moe-max-tokens'));
  const rounds: Row[][] = [];
  for (let r = 0; r < num('moe-rounds'); r++) {
    const order = r % 2 === 0 ? MOE_POLICIES : [...MOE_POLICIES].reverse();
    const got: Row[] = [];
    for (const p of order) got.push(await runPolicy(dir, p, workload, { kind: 'closed', concurrency: num('moe-concurrency') }, num('moe-kv-cache-mib'), num('moe-threads')));
    rounds.push(MOE_POLICIES.map((p) => got.find((x) => x.policy === p)!));
    log(`round ${r + 1}: prefix-load-expert / prefix-load output_tps = ${(rounds[r][1].output_tps / rounds[r][0].output_tps).toFixed(3)}`);
  }
  const ratios = rounds.map((r) => Number((r[1].output_tps / r[0].output_tps).toFixed(3)));
  const mean = MOE_POLICIES.map((p, i) => {
    const rs = rounds.map((r) => r[i]);
    const avg = (f: (x: Row) => number | null): number | null => (rs.some((x) => f(x) === null) ? null : Number((rs.reduce((s, x) => s + f(x)!, 0) / rs.length).toFixed(2)));
    return { policy: p, prefix_hit_rate: avg((x) => x.prefix_hit_rate), hit_rate_upper_bound: rs[0].hit_rate_upper_bound, ttft_mean_ms: avg((x) => x.ttft_mean_ms), ttft_p90_ms: avg((x) => x.ttft_p90_ms), tpot_mean_ms: avg((x) => x.tpot_mean_ms), output_tps: avg((x) => x.output_tps)!, errors: rs.reduce((s, x) => s + x.errors, 0) };
  });
  return { rounds, mean, ratios };
}

async function main(): Promise<void> {
  const only = a.only;
  const d = only === 'moe' ? [] : await dense();
  const m = only === 'dense' ? null : await moe();
  const get = (rows: Row[], p: string): Row | undefined => rows.find((r) => r.policy === p);
  const pl = get(d, 'prefix-load'), rr = get(d, 'round-robin');
  const targets = {
    prefix_load_hit_vs_bound: pl && pl.prefix_hit_rate !== null ? Number((pl.prefix_hit_rate / pl.hit_rate_upper_bound).toFixed(3)) : null,
    prefix_load_ttft_vs_round_robin: pl?.ttft_mean_ms && rr?.ttft_mean_ms ? Number((pl.ttft_mean_ms / rr.ttft_mean_ms).toFixed(3)) : null,
    moe_rounds_expert_won: m ? `${m.ratios.filter((x) => x > 1).length}/${m.ratios.length}` : null,
    moe_expert_vs_prefix_load_output_tps: m ? Number((get(m.mean, 'prefix-load-expert')!.output_tps / get(m.mean, 'prefix-load')!.output_tps).toFixed(3)) : null,
  };
  const met = {
    hit_rate: targets.prefix_load_hit_vs_bound !== null ? targets.prefix_load_hit_vs_bound >= 0.9 : null,
    ttft: targets.prefix_load_ttft_vs_round_robin !== null ? targets.prefix_load_ttft_vs_round_robin <= 0.5 : null,
    moe_output_tps: targets.moe_expert_vs_prefix_load_output_tps !== null ? targets.moe_expert_vs_prefix_load_output_tps > 1 : null,
  };
  log(`targets: ${JSON.stringify(met)}`);
  process.stdout.write(JSON.stringify({ dense: { workload: `shared-prefix ${a.groups}×${a.questions}, system ${a['system-tokens']} + question ${a['question-tokens']} tokens, poisson ${a.rate}/s, kv ${a['kv-cache-mib']} MiB/worker`, policies: d }, moe: m && { model: `${a['moe-preset']} moe, ${a['moe-threads']} thread(s) per worker, kv ${a['moe-kv-cache-mib']} MiB/worker`, workload: `moe-domain-shared-prefix 2 domains × 3 systems × ${a['moe-questions']} questions (256 + 16 tokens, ${a['moe-max-tokens']} out), closed loop ${a['moe-concurrency']}`, policies: m.mean, rounds: m.rounds, round_ratios: m.ratios }, targets, met }) + '\n');
}

await main();
