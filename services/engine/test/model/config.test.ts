import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseModelConfig } from '../../src/model/config.ts';
import { ModelConfigError } from '../../src/model/errors.ts';

const LLAMA = {
  model_type: 'llama',
  vocab_size: 1000,
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 512,
  rms_norm_eps: 1e-5,
  hidden_act: 'silu',
  bos_token_id: 1,
  eos_token_id: 2,
};

test('llama: fields, defaults and eos merged with generation_config', () => {
  const c = parseModelConfig(LLAMA, { eos_token_id: [2, 9] });
  assert.equal(c.arch, 'llama');
  assert.equal(c.headDim, 16);
  assert.equal(c.numKvHeads, 2);
  assert.equal(c.ropeTheta, 10000);
  assert.equal(c.tieWordEmbeddings, false);
  assert.equal(c.attentionBias, false);
  assert.equal(c.bosTokenId, 1);
  assert.deepEqual(c.eosTokenIds, [2, 9]);
  assert.equal(c.moe, null);
  const d = parseModelConfig({ ...LLAMA, num_key_value_heads: undefined, head_dim: 32, rope_theta: 5e5, eos_token_id: [2, 3], tie_word_embeddings: true });
  assert.equal(d.numKvHeads, 4);
  assert.equal(d.headDim, 32);
  assert.equal(d.ropeTheta, 5e5);
  assert.equal(d.tieWordEmbeddings, true);
  assert.deepEqual(d.eosTokenIds, [2, 3]);
});

test('mistral and qwen2 are dense; qwen2 has q/k/v biases', () => {
  assert.equal(parseModelConfig({ ...LLAMA, model_type: 'mistral', sliding_window: null }).arch, 'llama');
  const q = parseModelConfig({ ...LLAMA, model_type: 'qwen2', use_sliding_window: false, sliding_window: 4096 });
  assert.equal(q.attentionBias, true);
  assert.equal(q.modelType, 'qwen2');
});

test('mixtral: experts, top-k always normalised, expert size = intermediate_size', () => {
  const c = parseModelConfig({ ...LLAMA, model_type: 'mixtral', num_local_experts: 8, num_experts_per_tok: 2 });
  assert.equal(c.arch, 'moe');
  assert.deepEqual(c.moe, { numExperts: 8, topK: 2, normTopkProb: true, expertIntermediateSize: 128 });
});

test('qwen3_moe / qwen2_moe: num_experts, norm_topk_prob, moe_intermediate_size', () => {
  const base = { ...LLAMA, num_experts: 16, num_experts_per_tok: 4, moe_intermediate_size: 48 };
  const q3 = parseModelConfig({ ...base, model_type: 'qwen3_moe', norm_topk_prob: true });
  assert.deepEqual(q3.moe, { numExperts: 16, topK: 4, normTopkProb: true, expertIntermediateSize: 48 });
  assert.equal(q3.attentionBias, false);
  const q2 = parseModelConfig({ ...base, model_type: 'qwen2_moe', shared_expert_intermediate_size: 0 });
  assert.equal(q2.moe!.normTopkProb, false);
  assert.equal(q2.attentionBias, true);
});

/** Each case: a config change and the field the error must name. */
const ERRORS: [string, Record<string, unknown>, string][] = [
  ['unknown model_type', { model_type: 'gpt2' }, 'model_type'],
  ['missing model_type', { model_type: undefined }, 'model_type'],
  ['missing hidden_size', { hidden_size: undefined }, 'hidden_size'],
  ['missing vocab_size', { vocab_size: null }, 'vocab_size'],
  ['wrong type', { num_hidden_layers: '2' }, 'num_hidden_layers'],
  ['negative', { intermediate_size: -1 }, 'intermediate_size'],
  ['fractional', { num_attention_heads: 2.5 }, 'num_attention_heads'],
  ['rope scaling', { rope_scaling: { rope_type: 'llama3', factor: 8 } }, 'rope_scaling'],
  ['gelu', { hidden_act: 'gelu' }, 'hidden_act'],
  ['heads not divisible', { num_key_value_heads: 3 }, 'num_key_value_heads'],
  ['hidden not divisible', { num_attention_heads: 3, num_key_value_heads: 3, head_dim: undefined }, 'hidden_size'],
  ['llama attention_bias', { attention_bias: true }, 'attention_bias'],
  ['mlp_bias', { mlp_bias: true }, 'mlp_bias'],
  ['eos type', { eos_token_id: 'x' }, 'eos_token_id'],
  ['mistral sliding window', { model_type: 'mistral', sliding_window: 128 }, 'sliding_window'],
  ['qwen2 sliding window', { model_type: 'qwen2', use_sliding_window: true, sliding_window: 128 }, 'use_sliding_window'],
  ['mixtral without experts', { model_type: 'mixtral', num_experts_per_tok: 2 }, 'num_local_experts'],
  ['top-k > experts', { model_type: 'mixtral', num_local_experts: 2, num_experts_per_tok: 3 }, 'num_experts_per_tok'],
  ['shared experts', { model_type: 'qwen2_moe', num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 8, shared_expert_intermediate_size: 64 }, 'shared_expert_intermediate_size'],
  ['mixed layers', { model_type: 'qwen3_moe', num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 8, mlp_only_layers: [0] }, 'mlp_only_layers'],
  ['qwen moe without size', { model_type: 'qwen3_moe', num_experts: 4, num_experts_per_tok: 2 }, 'moe_intermediate_size'],
];

for (const [what, change, field] of ERRORS) {
  test(`rejects ${what}, naming "${field}"`, () => {
    assert.throws(
      () => parseModelConfig({ ...LLAMA, ...change }),
      (e: unknown) => e instanceof ModelConfigError && e.field === field && e.message.includes(`"${field}"`),
    );
  });
}

test('rejects a bad generation_config eos, naming the file and field', () => {
  assert.throws(
    () => parseModelConfig(LLAMA, { eos_token_id: [true] }),
    (e: unknown) => e instanceof ModelConfigError && e.field === 'eos_token_id' && e.message.startsWith('generation_config.json'),
  );
  assert.throws(() => parseModelConfig([1, 2]), ModelConfigError);
});
