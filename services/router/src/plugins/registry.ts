/**
 * Every placement plugin, registered here by its kebab-case type (the name a RoutingPolicy uses).
 * Each plugin lives in its own folder beside a README whose YAML example a test compiles.
 */
import { healthyFilter } from './filters/healthy/index.ts';
import { kvCapacityFilter } from './filters/kv-capacity/index.ts';
import { loadBandFilter } from './filters/load-band/index.ts';
import { expertProfileProducer } from './producers/expert-profile/index.ts';
import { prefixMatchProducer } from './producers/prefix-match/index.ts';
import { lowestCostPicker } from './pickers/lowest-cost/index.ts';
import { maxScorePicker } from './pickers/max-score/index.ts';
import { roundRobinPicker } from './pickers/round-robin/index.ts';
import { decodeLoadScorer } from './scorers/decode-load/index.ts';
import { expertAffinityScorer } from './scorers/expert-affinity/index.ts';
import { expertOverloadScorer } from './scorers/expert-overload/index.ts';
import { kvCapacityScorer } from './scorers/kv-capacity/index.ts';
import { prefillLoadScorer } from './scorers/prefill-load/index.ts';
import { prefixAffinityScorer } from './scorers/prefix-affinity/index.ts';
import type { PluginFactory, PluginKind } from './types.ts';

export const PLUGINS: Record<PluginKind, ReadonlyMap<string, PluginFactory>> = {
  filter: byType([healthyFilter, kvCapacityFilter, loadBandFilter]),
  producer: byType([prefixMatchProducer, expertProfileProducer]),
  scorer: byType([prefixAffinityScorer, prefillLoadScorer, decodeLoadScorer, kvCapacityScorer, expertAffinityScorer, expertOverloadScorer]),
  picker: byType([maxScorePicker, lowestCostPicker, roundRobinPicker]),
};

function byType(list: PluginFactory[]): ReadonlyMap<string, PluginFactory> {
  return new Map(list.map((f) => [f.type, f]));
}

/** Folder of a plugin's README, relative to this file (tests and docs use it). */
export function pluginFolder(kind: PluginKind, type: string): string {
  return `${kind}s/${type}`;
}
