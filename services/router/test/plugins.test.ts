/**
 * Every filter, producer, scorer and picker on hand-made candidates, with the expected values
 * written out; and every plugin README's YAML example compiles as a RoutingPolicy.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WorkerState } from '@duet/core';
import { parse as parseYaml } from 'yaml';
import { PLUGINS, pluginFolder } from '../src/plugins/registry.ts';
import { toCandidate, type Candidate, type DecisionContext, type FilterPlugin, type PickerPlugin, type PluginKind, type ProducerPlugin, type RoutingState, type ScorerPlugin, type StageName } from '../src/plugins/types.ts';
import { compilePolicy } from '../src/policy/compile.ts';
import { request, stateOf, vec, workers, type StateSpec } from './support/state.ts';
import type { PlacementRequest } from '@duet/core';

function ctxOf(state: RoutingState, req: PlacementRequest = request(), stage: StageName = 'decode'): DecisionContext {
  return { request: req, state, stage, promptBlocks: req.blockHashes.length, memo: new Map() };
}

function make(kind: PluginKind, type: string, parameters: Record<string, unknown> = {}): unknown {
  const f = PLUGINS[kind].get(type);
  assert.ok(f, `${kind} ${type} registered`);
  return f.create(f.parameters.parse(parameters));
}

function setup(spec: Omit<StateSpec, 'workers'> & { workers: Parameters<typeof workers> }, req?: PlacementRequest) {
  const state = stateOf({ ...spec, workers: workers(...spec.workers) });
  const cands: Candidate[] = state.workers.map((w) => toCandidate(w, state.loads, state.reports));
  const ctx = ctxOf(state, req);
  return { state, cands, ctx };
}

const scores = (kind: 'scorer', type: string, s: ReturnType<typeof setup>, params: Record<string, unknown> = {}) => {
  const p = make(kind, type, params) as ScorerPlugin;
  for (const need of p.requires) (make('producer', need) as ProducerPlugin).produce(s.ctx, s.cands);
  return [...p.score(s.ctx, s.cands)].map((x) => Math.round(x * 1000) / 1000);
};

describe('filters', () => {
  test('healthy keeps READY workers of the model that the request does not exclude', () => {
    const s = setup(
      { workers: [{ id: 'a' }, { id: 'b', state: WorkerState.DRAINING }, { id: 'c', model: 'other' }, { id: 'd' }] },
      request({ exclude: ['d'] }),
    );
    const f = make('filter', 'healthy') as FilterPlugin;
    assert.deepEqual(f.filter(s.ctx, s.cands).map((c) => c.id), ['a']);
  });

  test('kv-capacity counts reserved blocks, the request and its cached prefix', () => {
    // request: 4 prompt blocks + 16 tokens → ceil(80/16) = 5 blocks needed on a decode worker.
    const s = setup({ workers: [{ id: 'a', kvBlocksTotal: 100 }, { id: 'b', kvBlocksTotal: 100 }, { id: 'c', kvBlocksTotal: 100 }], loads: { a: { decodeBlocks: 95 }, b: { decodeBlocks: 96 }, c: { decodeBlocks: 98 } }, prefix: { c: 3 } });
    const f = make('filter', 'kv-capacity') as FilterPlugin;
    // a: 95+5=100 ok; b: 96+5=101 no; c: 98 + (5-3) = 100 ok.
    assert.deepEqual(f.filter(s.ctx, s.cands).map((c) => c.id), ['a', 'c']);
    const strict = make('filter', 'kv-capacity', { maxUtilization: 0.5 }) as FilterPlugin;
    assert.deepEqual(strict.filter(s.ctx, s.cands), []);
  });

  test('load-band keeps workers within slack of the least-loaded one, by running sequences or prefill tokens', () => {
    const s = setup({ workers: [{ id: 'a' }, { id: 'b' }, { id: 'c' }], loads: { a: { runningSeqs: 5, prefillTokens: 0 }, b: { runningSeqs: 3, prefillTokens: 900 }, c: { runningSeqs: 4, prefillTokens: 5000 } } });
    const ids = (params: Record<string, unknown>): string[] => (make('filter', 'load-band', params) as FilterPlugin).filter(s.ctx, s.cands).map((c) => c.id);
    assert.deepEqual(ids({}), ['b', 'c']);
    assert.deepEqual(ids({ slack: 0 }), ['b']);
    assert.deepEqual(ids({ slack: 2 }), ['a', 'b', 'c']);
    assert.deepEqual(ids({ metric: 'prefill-tokens', slack: 1000 }), ['a', 'b']);
    assert.deepEqual((make('filter', 'load-band') as FilterPlugin).filter(s.ctx, []), []);
    assert.throws(() => make('filter', 'load-band', { slack: -1 }));
  });
});

describe('scorers', () => {
  test('prefix-affinity = cached blocks / prompt blocks', () => {
    const s = setup({ workers: [{ id: 'a' }, { id: 'b' }, { id: 'c' }], prefix: { a: 4, b: 1 } });
    assert.deepEqual(scores('scorer', 'prefix-affinity', s), [1, 0.25, 0]);
  });

  test('prefill-load = 1 / (1 + tokens / scaleTokens)', () => {
    const s = setup({ workers: [{ id: 'a' }, { id: 'b' }], loads: { a: { prefillTokens: 0 }, b: { prefillTokens: 2048 } } });
    assert.deepEqual(scores('scorer', 'prefill-load', s), [1, 0.5]);
    assert.deepEqual(scores('scorer', 'prefill-load', s, { scaleTokens: 1024 }), [1, 0.333]);
  });

  test('decode-load mixes the KV-block and running-sequence shares', () => {
    const s = setup({ workers: [{ id: 'a', kvBlocksTotal: 100, maxRunningSeqs: 10 }, { id: 'b', kvBlocksTotal: 100, maxRunningSeqs: 10 }], loads: { b: { decodeBlocks: 50, runningSeqs: 10 } } });
    assert.deepEqual(scores('scorer', 'decode-load', s), [1, 0.25]);
    assert.deepEqual(scores('scorer', 'decode-load', s, { blocksWeight: 1 }), [1, 0.5]);
  });

  test('kv-capacity scorer = free share after placing, crediting the cached prefix', () => {
    const s = setup({ workers: [{ id: 'a', kvBlocksTotal: 100 }, { id: 'b', kvBlocksTotal: 100 }], loads: { a: { decodeBlocks: 45 } }, prefix: { b: 4 } });
    // a: (100 - 45 - 5) / 100 = 0.5; b: (100 - 0 - 1) / 100 = 0.99.
    assert.deepEqual(scores('scorer', 'kv-capacity', s), [0.5, 0.99]);
  });

  test('expert-affinity = histogram intersection with the worker mix; neutral when unknown', () => {
    const s = setup({ workers: [{ id: 'a' }, { id: 'b' }, { id: 'c' }], profile: vec(0.5, 0.5, 0, 0), mixes: { a: vec(0.5, 0.5, 0, 0), b: vec(0, 0.5, 0.5, 0) } });
    assert.deepEqual(scores('scorer', 'expert-affinity', s), [1, 0.5, 0.5]);
    const none = setup({ workers: [{ id: 'a' }], profile: null, mixes: { a: vec(1, 0) } });
    assert.deepEqual(scores('scorer', 'expert-affinity', none, { neutral: 0.3 }), [0.3]);
  });

  test('expert-overload penalises saturated experts the request needs', () => {
    const s = setup({ workers: [{ id: 'a' }, { id: 'b' }, { id: 'c' }], profile: vec(1, 0), pressure: { a: vec(8, 0), b: vec(0, 8), c: vec(4, 0) } });
    assert.deepEqual(scores('scorer', 'expert-overload', s), [0, 1, 0.5]);
  });
});

describe('pickers', () => {
  const scored = (ids: string[], totals: number[], spec: Omit<StateSpec, 'workers'> = {}) => {
    const s = setup({ ...spec, workers: ids.map((id) => ({ id })) });
    return { ctx: s.ctx, scored: s.cands.map((candidate, i) => ({ candidate, total: totals[i], breakdown: {} })) };
  };

  test('max-score takes the best; ties are broken by the random source', () => {
    const p = make('picker', 'max-score') as PickerPlugin;
    const a = scored(['a', 'b', 'c'], [0.2, 0.9, 0.5]);
    assert.equal(p.pick(a.ctx, a.scored)?.candidate.id, 'b');
    const tie0 = scored(['a', 'b', 'c'], [0.9, 0.9, 0.5], { random: [0] });
    const tie1 = scored(['a', 'b', 'c'], [0.9, 0.9, 0.5], { random: [0.99] });
    assert.equal(p.pick(tie0.ctx, tie0.scored)?.candidate.id, 'a');
    assert.equal(p.pick(tie1.ctx, tie1.scored)?.candidate.id, 'b');
    assert.equal(p.pick(a.ctx, []), null);
  });

  test('lowest-cost = prefillWeight · uncached blocks + in-flight blocks', () => {
    const p = make('picker', 'lowest-cost', { prefillWeight: 1 }) as PickerPlugin;
    // 4 prompt blocks. a: holds 4, 10 reserved blocks → 0 + 10; b: holds 0, idle → 4; c: holds 2, 32 prefill tokens → 2 + 2 = 4 (tie b/c).
    const s = scored(['a', 'b', 'c'], [0, 0, 0], { prefix: { a: 4, c: 2 }, loads: { a: { decodeBlocks: 10 }, c: { prefillTokens: 32 } }, random: [0.99] });
    for (const x of s.scored) x.candidate.prefixBlocks = s.ctx.state.matchPrefix([]).get(x.candidate.id) ?? 0;
    assert.equal(p.pick(s.ctx, s.scored)?.candidate.id, 'c');
    const heavy = make('picker', 'lowest-cost', { prefillWeight: 5 }) as PickerPlugin;
    // a: 10; b: 20; c: 10 + 2 = 12 → a.
    assert.equal(heavy.pick(s.ctx, s.scored)?.candidate.id, 'a');
  });

  test('round-robin rotates in id order regardless of scores', () => {
    const p = make('picker', 'round-robin') as PickerPlugin;
    const s = scored(['b', 'a'], [1, 0]);
    assert.deepEqual([1, 2, 3].map(() => p.pick(s.ctx, s.scored)?.candidate.id), ['a', 'b', 'a']);
  });
});

describe('plugin READMEs', () => {
  const root = fileURLToPath(new URL('../src/plugins/', import.meta.url));
  for (const kind of Object.keys(PLUGINS) as PluginKind[]) {
    for (const type of PLUGINS[kind].keys()) {
      test(`${kind} ${type}: README exists and its YAML example compiles and uses it`, () => {
        const readme = `${root}${pluginFolder(kind, type)}/README.md`;
        assert.ok(existsSync(readme), `missing ${readme}`);
        const text = readFileSync(readme, 'utf8');
        const yaml = /```yaml\n([\s\S]*?)```/.exec(text)?.[1];
        assert.ok(yaml, 'README has a ```yaml example');
        const compiled = compilePolicy(parseYaml(yaml));
        const used = [compiled.decode, compiled.prefill].flatMap((st) => [...st.filters, ...st.producers, ...st.scorers.map((x) => x.plugin), st.picker].map((p) => p.type));
        assert.ok(used.includes(type), `the example uses ${type}`);
      });
    }
  }

  test('every plugin folder is registered', () => {
    for (const kind of Object.keys(PLUGINS) as PluginKind[]) {
      const dir = `${root}${kind}s`;
      assert.deepEqual(readdirSync(dir).sort(), [...PLUGINS[kind].keys()].sort(), `${dir} vs registry`);
    }
  });
});

