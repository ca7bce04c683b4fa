/** `duet model create`: writes a seeded model folder in the Hugging Face format. */
import { resolve } from 'node:path';
import { createModel } from '@duet/engine';
import { CliUsageError, oneOf, optionalNumber, parseFlags, requireString } from '../args.ts';

export async function modelCreate(argv: string[]): Promise<number> {
  const v = parseFlags(argv, {
    arch: { type: 'string' },
    preset: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    dtype: { type: 'string' },
    'max-shard-mib': { type: 'string' },
  });
  const arch = oneOf(v, 'arch', ['llama', 'moe'] as const);
  const preset = oneOf(v, 'preset', ['tiny', 'small', 'bench'] as const);
  const seed = optionalNumber(v, 'seed', { integer: true });
  if (seed === undefined) throw new CliUsageError('--seed is required');
  const outDir = resolve(requireString(v, 'out'));
  const dtype = oneOf(v, 'dtype', ['f32', 'f16', 'bf16'] as const, 'f32');
  const shardMiB = optionalNumber(v, 'max-shard-mib');
  await createModel({ arch, preset, seed, outDir, dtype, ...(shardMiB ? { maxShardBytes: Math.floor(shardMiB * 2 ** 20) } : {}) });
  console.log(`wrote ${arch} ${preset} model (seed ${seed}, ${dtype}) to ${outDir}`);
  return 0;
}
