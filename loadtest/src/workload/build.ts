/**
 * One entry to every workload: a spec (what the command line or a test asks for) plus the model's
 * shape (vocab size, context) becomes a Workload. Trace files are read here; defaults live here.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { azureWorkload, parseAzure } from './azure.ts';
import { moeDomainWorkload, type MoeDomainOptions } from './moe-domains.ts';
import { mooncakeWorkload, parseMooncake } from './mooncake.ts';
import { multiTurnWorkload, sharedPrefixWorkload } from './synthetic.ts';
import { tokenRangeForVocab } from './tokens.ts';
import { WorkloadError, type Workload } from './types.ts';

export const WORKLOAD_NAMES = ['mooncake', 'azure', 'shared-prefix', 'multi-turn', 'moe-domains'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export interface ModelShape {
  /** Token ids must be below it. */
  vocabSize: number;
  /** Longest prompt + output. */
  maxContextTokens: number;
}

export interface WorkloadSpec {
  name: WorkloadName;
  seed?: number;
  /** mooncake, azure: the trace file. */
  trace?: string;
  /** mooncake: tokens per 512-token trace block (default 16, factor 1/32). */
  tokensPerBlock?: number;
  /** azure: length factor (default 1/8). */
  lengthScale?: number;
  /** shared-prefix: system prompts × questions each. */
  groups?: number;
  questionsPerGroup?: number;
  systemTokens?: number;
  /** shared-prefix: question tokens; multi-turn: user tokens per turn. */
  questionTokens?: number;
  /** multi-turn. */
  sessions?: number;
  turns?: number;
  thinkMs?: number;
  /** moe-domains. */
  requests?: number;
  promptTokens?: number;
  mix?: MoeDomainOptions['mix'];
  /** Output tokens per request (synthetic workloads). */
  maxTokens?: number;
}

/** Defaults of the synthetic workloads: small enough for the CPU demo platform. */
export const WORKLOAD_DEFAULTS = {
  tokensPerBlock: 16,
  lengthScale: 1 / 8,
  groups: 4,
  questionsPerGroup: 8,
  systemTokens: 256,
  questionTokens: 32,
  sessions: 8,
  turns: 4,
  thinkMs: 0,
  requests: 32,
  promptTokens: 128,
  maxTokens: 16,
} as const;

async function readTrace(spec: WorkloadSpec): Promise<{ text: string; source: string }> {
  if (!spec.trace) throw new WorkloadError(`workload ${spec.name} needs a trace file (--trace FILE)`);
  try {
    return { text: await readFile(spec.trace, 'utf8'), source: basename(spec.trace) };
  } catch (err) {
    throw new WorkloadError(`cannot read trace ${spec.trace}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export async function buildWorkload(spec: WorkloadSpec, shape: ModelShape): Promise<Workload> {
  const w = await build(spec, shape);
  const tooLong = w.requests.find((r) => r.promptIds.length + r.maxTokens > shape.maxContextTokens);
  if (tooLong) {
    throw new WorkloadError(`${w.name}: request ${tooLong.id} needs ${tooLong.promptIds.length} prompt + ${tooLong.maxTokens} output tokens, more than the model's context of ${shape.maxContextTokens}`);
  }
  return w;
}

async function build(spec: WorkloadSpec, shape: ModelShape): Promise<Workload> {
  const d = WORKLOAD_DEFAULTS;
  const range = tokenRangeForVocab(shape.vocabSize);
  const seed = spec.seed ?? 0;
  const maxTokens = spec.maxTokens ?? d.maxTokens;
  switch (spec.name) {
    case 'mooncake': {
      const { text, source } = await readTrace(spec);
      return mooncakeWorkload(parseMooncake(text, source), { tokensPerBlock: spec.tokensPerBlock ?? d.tokensPerBlock, maxContextTokens: shape.maxContextTokens, range, seed, source });
    }
    case 'azure': {
      const { text, source } = await readTrace(spec);
      return azureWorkload(parseAzure(text, source), { lengthScale: spec.lengthScale ?? d.lengthScale, maxContextTokens: shape.maxContextTokens, range, seed, source });
    }
    case 'shared-prefix':
      return sharedPrefixWorkload({
        groups: spec.groups ?? d.groups, questionsPerGroup: spec.questionsPerGroup ?? d.questionsPerGroup,
        systemTokens: spec.systemTokens ?? d.systemTokens, questionTokens: spec.questionTokens ?? d.questionTokens, maxTokens, range, seed,
      });
    case 'multi-turn':
      return multiTurnWorkload({
        sessions: spec.sessions ?? d.sessions, turns: spec.turns ?? d.turns, systemTokens: spec.systemTokens ?? d.systemTokens,
        userTokens: spec.questionTokens ?? d.questionTokens, maxTokens, thinkMs: spec.thinkMs ?? d.thinkMs, maxContextTokens: shape.maxContextTokens, range, seed,
      });
    case 'moe-domains':
      return moeDomainWorkload({ requests: spec.requests ?? d.requests, promptTokens: spec.promptTokens ?? d.promptTokens, maxTokens, vocabSize: shape.vocabSize, mix: spec.mix, seed });
    default:
      throw new WorkloadError(`unknown workload "${String(spec.name)}" (known: ${WORKLOAD_NAMES.join(', ')})`);
  }
}
