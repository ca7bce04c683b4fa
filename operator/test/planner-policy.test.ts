/**
 * The ScalingPolicy spec: `{}` is a valid policy with documented defaults, bad values are rejected
 * with the config path that names them, and the JSON schema the CRD is generated from carries the
 * defaults and the CEL rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ScalingPolicyError, defaultScalingPolicySpec, parseScalingPolicySpec, scalingPolicySpecSchema } from '../src/planner/index.ts';

test('{} parses to the documented defaults', () => {
  const p = defaultScalingPolicySpec();
  assert.deepEqual(p, {
    intervalSeconds: 15,
    tolerance: 0.1,
    drainTimeoutSeconds: 600,
    prefillToDecodeRatio: { min: 0.25, max: 4 },
    prefill: {
      minReplicas: 1,
      maxReplicas: 8,
      scaleUp: { stabilizationWindowSeconds: 0, maxReplicasPerInterval: 4 },
      scaleDown: { stabilizationWindowSeconds: 300, maxReplicasPerInterval: 1 },
      slo: { ttftP90Ms: 2000 },
      thresholds: { queuedPromptTokensPerReplica: 8192 },
    },
    decode: {
      minReplicas: 1,
      maxReplicas: 8,
      scaleUp: { stabilizationWindowSeconds: 0, maxReplicasPerInterval: 4 },
      scaleDown: { stabilizationWindowSeconds: 300, maxReplicasPerInterval: 1 },
      slo: { tpotP90Ms: 100 },
      thresholds: { kvUtilization: 0.8, runningSequencesPerReplica: 32 },
    },
  });
  assert.deepEqual(parseScalingPolicySpec(undefined), p, 'an absent spec is the default spec');
});

test('a partial policy keeps the defaults of every field it leaves out', () => {
  const p = parseScalingPolicySpec({ decode: { scaleDown: { stabilizationWindowSeconds: 60 } } });
  assert.equal(p.decode.scaleDown.stabilizationWindowSeconds, 60);
  assert.equal(p.decode.scaleDown.maxReplicasPerInterval, 1);
  assert.equal(p.prefill.scaleDown.stabilizationWindowSeconds, 300);
});

function issuesOf(input: unknown, opts?: { pathPrefix?: string }): string[] {
  try {
    parseScalingPolicySpec(input, opts);
  } catch (err) {
    assert.ok(err instanceof ScalingPolicyError);
    return err.issues.map((i) => i.path);
  }
  assert.fail('expected the policy to be rejected');
}

test('bad values are rejected with the path of each bad field', () => {
  assert.deepEqual(issuesOf({ decode: { thresholds: { kvUtilization: 1.5 } } }), ['spec.decode.thresholds.kvUtilization']);
  assert.deepEqual(issuesOf({ prefill: { slo: { ttftP90Ms: -1 } } }), ['spec.prefill.slo.ttftP90Ms']);
  assert.deepEqual(issuesOf({ intervalSeconds: 0 }), ['spec.intervalSeconds']);
  assert.deepEqual(issuesOf({ prefill: { scaleUp: { maxReplicasPerInterval: 0 } } }), ['spec.prefill.scaleUp.maxReplicasPerInterval']);
  assert.deepEqual(issuesOf({ decode: { minReplicas: 0 } }), ['spec.decode.minReplicas'], 'the decode pool never scales to zero');
  assert.deepEqual(issuesOf({ prefill: { maxReplicas: 2.5 } }), ['spec.prefill.maxReplicas']);
  assert.deepEqual(issuesOf({ decode: { maxReplicas: 1001 } }), ['spec.decode.maxReplicas'], 'at most 1000 per pool');
  assert.deepEqual(issuesOf({ tolerance: 'x' }, { pathPrefix: 'policy.yaml' }), ['policy.yaml.tolerance']);
});

test('cross-field rules: min ≤ max per pool, ratio min ≤ max, and some pair must satisfy everything', () => {
  assert.deepEqual(issuesOf({ prefill: { minReplicas: 5, maxReplicas: 2 } }), ['spec.prefill.minReplicas']);
  assert.deepEqual(issuesOf({ prefillToDecodeRatio: { min: 3, max: 2 } }), ['spec.prefillToDecodeRatio.min']);
  // 1 prefill at most, 10 decode at least, and at least 0.25 prefill per decode: impossible.
  assert.deepEqual(issuesOf({ prefill: { maxReplicas: 1 }, decode: { minReplicas: 10, maxReplicas: 10 } }), ['spec.prefillToDecodeRatio']);
  assert.doesNotThrow(() => parseScalingPolicySpec({ prefill: { maxReplicas: 3 }, decode: { minReplicas: 10, maxReplicas: 10 } }));
});

test('the message names the source and every issue', () => {
  assert.throws(() => parseScalingPolicySpec({ intervalSeconds: -1 }, { source: 'ScalingPolicy default/fast' }), /invalid scaling policy \(ScalingPolicy default\/fast\): spec\.intervalSeconds: /);
});

test('the JSON schema (CRD source) has defaults, descriptions and CEL rules, and no $ref', () => {
  type Node = { default?: unknown; description?: string; 'x-kubernetes-validations'?: unknown; properties: Record<string, Node> };
  const schema = z.toJSONSchema(scalingPolicySpecSchema, { io: 'input' }) as unknown as Node;
  const text = JSON.stringify(schema);
  assert.ok(!text.includes('$ref'), 'structural: no references');
  assert.ok(!text.includes('anyOf') && !text.includes('oneOf'), 'no unions');
  assert.equal(schema.properties.intervalSeconds.default, 15);
  assert.equal(schema.properties.decode.properties.thresholds.properties.kvUtilization.default, 0.8);
  assert.match(schema.properties.decode.properties.thresholds.properties.kvUtilization.description ?? '', /utilisation/);
  assert.deepEqual(schema.properties.prefill['x-kubernetes-validations'], [{ rule: 'self.minReplicas <= self.maxReplicas', message: 'minReplicas must be <= maxReplicas' }]);
  assert.deepEqual(schema.properties.prefillToDecodeRatio['x-kubernetes-validations'], [{ rule: 'self.min <= self.max', message: 'min must be <= max' }]);
});
