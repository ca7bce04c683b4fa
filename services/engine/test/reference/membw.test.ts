// The native memory-bandwidth probe: builds membw.c with the system compiler and runs it small.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { measureMemoryReadGBps } from '../../bench/membw/index.ts';

void describe('measureMemoryReadGBps', () => {
  void it('reports finite positive bandwidth from the C kernel (64 MiB, 2 passes)', async () => {
    const r = await measureMemoryReadGBps({ bufferMiB: 64, passes: 2 });
    assert.equal(r.method, 'c');
    assert.ok(Number.isInteger(r.threads) && r.threads >= 1, `threads ${r.threads}`);
    for (const v of [r.best_GBps, r.median_GBps]) assert.ok(Number.isFinite(v) && v > 0, `GBps ${v}`);
    assert.ok(r.best_GBps >= r.median_GBps, 'best pass is at least the median');
  });

  void it('honours an explicit thread count', async () => {
    const r = await measureMemoryReadGBps({ threads: 1, bufferMiB: 64, passes: 2 });
    assert.equal(r.threads, 1);
  });

  void it('rejects nonsense options before building anything', async () => {
    await assert.rejects(measureMemoryReadGBps({ passes: 0 }), /passes must be an integer/);
    await assert.rejects(measureMemoryReadGBps({ bufferMiB: 1.5 }), /bufferMiB must be an integer/);
  });
});
