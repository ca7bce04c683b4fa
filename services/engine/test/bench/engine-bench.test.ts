/**
 * `npm run bench:engine` keeps printing every field the engine issue names: run on the tiny presets
 * with --quick (the real figures come from the bench presets; see docs/benchmarks.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const BENCH = fileURLToPath(new URL('../../bench/engine-bench.ts', import.meta.url));
const FIELDS = [
  'model', 'backend', 'matmul', 'threads', 'weight_bytes', 'memory_read_GBps', 'roofline_decode_tps_b1', 'prefill_tps_512',
  'decode_tps_b1', 'decode_tps_b8', 'decode_tps_b32', 'moe_decode_tps_b8_same_domain', 'moe_decode_tps_b8_mixed_domain', 'peak_rss_MB',
];

test('bench:engine prints one JSON object with every field as its last line', async () => {
  const cache = await mkdtemp(join(tmpdir(), 'duet-bench-'));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', BENCH, '--preset', 'tiny', '--quick'], {
      env: { ...process.env, DUET_CACHE_DIR: cache },
      timeout: 300_000,
    });
    const last = stdout.trim().split('\n').at(-1)!;
    const out = JSON.parse(last) as Record<string, unknown>;
    assert.deepEqual(Object.keys(out), FIELDS);
    for (const f of FIELDS.slice(3)) assert.ok(typeof out[f] === 'number' && Number.isFinite(out[f]) && out[f] > 0, `${f} = ${String(out[f])}`);
    assert.equal(out.backend, 'wasm');
    assert.equal(out.matmul, 'wasm-simd');
    const roofline = (out.memory_read_GBps as number) * 1e9 / (out.weight_bytes as number);
    assert.ok(Math.abs(roofline - (out.roofline_decode_tps_b1 as number)) / roofline < 0.01, 'roofline = bandwidth / weight bytes');
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});

test('bench:engine --profile prints kernel time by op for decode b1, b8 and a 512-token prefill chunk', async () => {
  const cache = await mkdtemp(join(tmpdir(), 'duet-bench-'));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', BENCH, '--preset', 'tiny', '--profile', '--threads', '1'], {
      env: { ...process.env, DUET_CACHE_DIR: cache },
      timeout: 300_000,
    });
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { threads: number; profile: { phase: string; wall_ms: number; kernel_ms: number; kernels_per_step: number; by_op: { op: string; calls: number; ms: number }[] }[] };
    assert.equal(out.threads, 1);
    assert.deepEqual(out.profile.map((p) => p.phase), ['decode_b1', 'decode_b8', 'prefill_512']);
    for (const p of out.profile) {
      assert.ok(p.wall_ms > 0 && p.kernel_ms > 0, `${p.phase}: times`);
      const calls = p.by_op.reduce((a, r) => a + r.calls, 0);
      assert.ok(Math.abs(calls - p.kernels_per_step) < 1e-6, `${p.phase}: ops add up to the kernel count`);
      assert.ok(p.by_op.some((r) => r.op === 'WasmGemm'), `${p.phase}: the weight matMuls (the default wasm-simd GEMM) are listed`);
    }
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});
