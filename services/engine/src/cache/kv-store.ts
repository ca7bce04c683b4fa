/**
 * The paged KV cache's storage: preallocated host memory, written in place, never concatenated.
 *
 * Legend: L layers · N blocks · S block size (tokens) · K kv heads · D head dim · n tokens
 *
 * KV layout (defined here and nowhere else). Per layer, keys and values are each one Float32Array
 *
 *     [N, S, K, D]     block b, slot s  →  offset ((b·S + s)·K)·D
 *
 * so one token slot is K·D contiguous floats and one block is S·K·D contiguous floats. Token p of a
 * sequence with block table `bt` lives in block bt[⌊p/S⌋], slot p mod S:
 *
 *     positions  0 … S-1 | S … 2S-1 | 2S …
 *     blocks       bt[0]  |   bt[1]   | bt[2] …
 *
 * Block ids come from the BlockManager; this class only copies floats. Export/import move a token
 * range of one layer — the unit the KV transfer streams.
 */

export interface KvStoreShape {
  numLayers: number;
  numBlocks: number;
  blockSize: number;
  numKvHeads: number;
  headDim: number;
}

/** K and V for n consecutive tokens of one layer, each [n, K, D]. */
export interface KvRange {
  k: Float32Array;
  v: Float32Array;
}

export class PagedKvStore {
  readonly shape: Readonly<KvStoreShape>;
  /** Floats per token slot (K·D). */
  readonly slotFloats: number;
  private readonly keys: Float32Array[];
  private readonly values: Float32Array[];

  constructor(shape: KvStoreShape) {
    for (const [k, v] of Object.entries(shape)) {
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`PagedKvStore: ${k} must be a positive integer, got ${v}`);
    }
    this.shape = { ...shape };
    this.slotFloats = shape.numKvHeads * shape.headDim;
    const floatsPerLayer = shape.numBlocks * shape.blockSize * this.slotFloats;
    this.keys = Array.from({ length: shape.numLayers }, () => new Float32Array(floatsPerLayer));
    this.values = Array.from({ length: shape.numLayers }, () => new Float32Array(floatsPerLayer));
  }

  /** Bytes of K+V one block occupies across all layers. */
  static bytesPerBlock(shape: Omit<KvStoreShape, 'numBlocks'>): number {
    return 2 * 4 * shape.numLayers * shape.blockSize * shape.numKvHeads * shape.headDim;
  }

  /** Writes `range` ([n, K, D] each) at positions start … start+n-1 of the sequence `blockTable`. */
  write(layer: number, blockTable: readonly number[], start: number, range: KvRange): void {
    const n = range.k.length / this.slotFloats;
    const keys = this.keys[layer];
    const values = this.values[layer];
    this.copy(layer, blockTable, start, n, (storeOff, bufOff, len) => {
      keys.set(range.k.subarray(bufOff, bufOff + len), storeOff);
      values.set(range.v.subarray(bufOff, bufOff + len), storeOff);
    });
  }

  /** Reads positions start … start+n-1 of one layer into fresh [n, K, D] arrays. */
  read(layer: number, blockTable: readonly number[], start: number, n: number): KvRange {
    const k = new Float32Array(n * this.slotFloats);
    const v = new Float32Array(n * this.slotFloats);
    this.readInto(layer, blockTable, start, n, k, v);
    return { k, v };
  }

  /** As `read`, into caller-owned arrays of at least n·K·D floats. */
  readInto(layer: number, blockTable: readonly number[], start: number, n: number, k: Float32Array, v: Float32Array): void {
    const keys = this.keys[layer];
    const values = this.values[layer];
    this.copy(layer, blockTable, start, n, (storeOff, bufOff, len) => {
      k.set(keys.subarray(storeOff, storeOff + len), bufOff);
      v.set(values.subarray(storeOff, storeOff + len), bufOff);
    });
  }

  /**
   * Walks positions start … start+n-1 one block-run at a time, calling `op` with the store offset,
   * the offset into the dense [n, K, D] buffer and the run length (floats).
   */
  private copy(
    layer: number,
    blockTable: readonly number[],
    start: number,
    n: number,
    op: (storeOff: number, bufOff: number, len: number) => void,
  ): void {
    if (layer < 0 || layer >= this.shape.numLayers) throw new RangeError(`layer ${layer} out of range`);
    const S = this.shape.blockSize;
    if (start + n > blockTable.length * S) {
      throw new RangeError(`positions ${start}…${start + n - 1} exceed the block table (${blockTable.length} blocks of ${S})`);
    }
    let done = 0;
    while (done < n) {
      const pos = start + done;
      const slot = pos % S;
      const run = Math.min(S - slot, n - done);
      const block = blockTable[Math.floor(pos / S)];
      const storeOff = (block * S + slot) * this.slotFloats;
      op(storeOff, done * this.slotFloats, run * this.slotFloats);
      done += run;
    }
  }
}
