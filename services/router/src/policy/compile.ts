/**
 * RoutingPolicy document → compiled policy: every plugin built by its registered factory from its
 * validated parameters, producers that scorers/pickers need added in order. Any error — bad shape,
 * unknown type, bad parameter — is a PolicyError naming the config path, e.g.
 * `spec.decode.scorers[1].parameters.scaleTokens: Too small: expected number to be >0`.
 */
import type { z } from 'zod';
import { PLUGINS } from '../plugins/registry.ts';
import type { FilterPlugin, PickerPlugin, PluginKind, ProducerPlugin, ScorerPlugin, StageName } from '../plugins/types.ts';
import { routingPolicySchema, type PluginRef, type RoutingPolicyDocument, type StageSpec } from './schema.ts';

export class PolicyError extends Error {
  override name = 'PolicyError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

export interface CompiledStage {
  filters: FilterPlugin[];
  producers: ProducerPlugin[];
  scorers: Array<{ plugin: ScorerPlugin; weight: number }>;
  picker: PickerPlugin;
}

export interface CompiledPolicy {
  name: string;
  generation: number;
  document: RoutingPolicyDocument;
  decode: CompiledStage;
  prefill: CompiledStage;
  disaggregation: RoutingPolicyDocument['spec']['disaggregation'];
  decisionLog: boolean;
}

const joinPath = (base: string, issuePath: readonly PropertyKey[]): string =>
  issuePath.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), base);

function firstIssue(base: string, err: z.ZodError): PolicyError {
  const issue = err.issues[0];
  return new PolicyError(joinPath(base, issue.path), issue.message);
}

function build<K extends PluginKind>(kind: K, ref: PluginRef, path: string) {
  const factory = PLUGINS[kind].get(ref.type);
  if (!factory) throw new PolicyError(`${path}.type`, `unknown ${kind} "${ref.type}" (known: ${[...PLUGINS[kind].keys()].join(', ')})`);
  const parsed = factory.parameters.safeParse(ref.parameters ?? {});
  if (!parsed.success) throw firstIssue(`${path}.parameters`, parsed.error);
  return factory.create(parsed.data);
}

function compileStage(spec: StageSpec, path: string): CompiledStage {
  const filters = spec.filters.map((f, i) => build('filter', f, `${path}.filters[${i}]`) as FilterPlugin);
  const producers = spec.producers.map((p, i) => build('producer', p, `${path}.producers[${i}]`) as ProducerPlugin);
  const scorers = spec.scorers.map((s, i) => ({ plugin: build('scorer', s, `${path}.scorers[${i}]`) as ScorerPlugin, weight: s.weight }));
  const picker = build('picker', spec.picker, `${path}.picker`) as PickerPlugin;
  const have = new Set(producers.map((p) => p.type));
  for (const needed of [...scorers.flatMap((s) => s.plugin.requires), ...picker.requires]) {
    if (have.has(needed)) continue;
    have.add(needed);
    producers.push(build('producer', { type: needed, parameters: {} }, `${path}.producers(auto:${needed})`) as ProducerPlugin);
  }
  return { filters, producers, scorers, picker };
}

/** Validates and compiles a parsed YAML/JSON RoutingPolicy document. */
export function compilePolicy(doc: unknown): CompiledPolicy {
  const parsed = routingPolicySchema.safeParse(doc);
  if (!parsed.success) throw firstIssue('', parsed.error);
  const d = parsed.data;
  const stage = (name: StageName) => compileStage(d.spec[name], `spec.${name}`);
  return {
    name: d.metadata.name,
    generation: d.metadata.generation ?? 0,
    document: d,
    decode: stage('decode'),
    prefill: stage('prefill'),
    disaggregation: d.spec.disaggregation,
    decisionLog: d.spec.decisionLog,
  };
}
