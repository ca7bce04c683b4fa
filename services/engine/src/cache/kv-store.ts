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
 *
 * With `shared: true` the arrays live in SharedArrayBuffers, so the engine's shard workers (one per
 * extra thread, each owning a range of kv heads) write and read the same cache in place; a worker
 * rebuilds its view with `PagedKvStore.fromBuffers`. Attention kernels read the cache in place
 * through `layerData` + `slotOffset` instead of copying a sequence's context out.
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

/** The store's memory: one K and one V array per layer. */
export interface KvStoreBuffers {
  keys: Float32Array[];
  values: Float32Array[];
}

export class PagedKvStore {
  readonly shape: Readonly<KvStoreShape>;
  /** Floats per token slot (K·D). */
  readonly slotFloats: number;
  private readonly keys: Float32Array[];
  private readonly values: Float32Array[];

  constructor(shape: KvStoreShape, options: { shared?: boolean } = {}, buffers?: KvStoreBuffers) {
    for (const [k, v] of Object.entries(shape)) {
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`PagedKvStore: ${k} must be a positive integer, got ${v}`);
    }
    this.shape = { ...shape };
    this.slotFloats = shape.numKvHeads * shape.headDim;
    const floatsPerLayer = shape.numBlocks * shape.blockSize * this.slotFloats;
    if (buffers) {
      const ok = buffers.keys.length === shape.numLayers && buffers.values.length === shape.numLayers &&
        [...buffers.keys, ...buffers.values].every((a) => a.length === floatsPerLayer);
      if (!ok) throw new RangeError(`PagedKvStore: buffers do not match the shape (${shape.numLayers} layers of ${floatsPerLayer} floats)`);
      this.keys = buffers.keys;
      this.values = buffers.values;
      return;
    }
    const alloc = (): Float32Array => (options.shared ? new Float32Array(new SharedArrayBuffer(floatsPerLayer * 4)) : new Float32Array(floatsPerLayer));
    this.keys = Array.from({ length: shape.numLayers }, alloc);
    this.values = Array.from({ length: shape.numLayers }, alloc);
  }

  /** A second view of a shared store's memory (in a shard worker). */
  static fromBuffers(shape: KvStoreShape, buffers: KvStoreBuffers): PagedKvStore {
    return new PagedKvStore(shape, {}, buffers);
  }

  /** The per-layer arrays, to hand a shared store to another thread (`fromBuffers`). */
  get buffers(): KvStoreBuffers {
    return { keys: this.keys, values: this.values };
  }

  /** Whether the arrays live in SharedArrayBuffers. */
  get shared(): boolean {
    return this.keys[0].buffer instanceof SharedArrayBuffer;
  }

  /** One layer's whole K and V arrays (`[N, S, K, D]` each), for kernels that read the cache in place. */
  layerData(layer: number): KvRange {
    if (layer < 0 || layer >= this.shape.numLayers) throw new RangeError(`layer ${layer} out of range`);
    return { k: this.keys[layer], v: this.values[layer] };
  }

  /** Offset (floats) of position `pos`'s slot in a layer array; kv head h starts `h·D` further. */
  slotOffset(blockTable: readonly number[], pos: number): number {
    const S = this.shape.blockSize;
    return (blockTable[Math.floor(pos / S)] * S + (pos % S)) * this.slotFloats;
  }

  /**
   * Writes kv heads `headFrom … headFrom+heads-1` of n tokens at positions start … start+n-1. Token t's
   * heads are read from `src.k` / `src.v` at `t·stride + kOffset` / `t·stride + vOffset`
   * (`heads·D` floats each): a shard writes its heads straight from its fused qkv rows.
   */
  writeHeads(
    layer: number,
    blockTable: readonly number[],
    start: number,
    n: number,
    src: { k: Float32Array; v: Float32Array; stride: number; kOffset: number; vOffset: number },
    headFrom: number,
    heads: number,
  ): void {
    const D = this.shape.headDim;
    if (headFrom < 0 || headFrom + heads > this.shape.numKvHeads) throw new RangeError(`kv heads ${headFrom}…${headFrom + heads - 1} out of range`);
    if (start + n > blockTable.length * this.shape.blockSize) {
      throw new RangeError(`positions ${start}…${start + n - 1} exceed the block table (${blockTable.length} blocks of ${this.shape.blockSize})`);
    }
    const { k: keys, v: values } = this.layerData(layer);
    const len = heads * D;
    for (let t = 0; t < n; t++) {
      const dst = this.slotOffset(blockTable, start + t) + headFrom * D;
      const row = t * src.stride;
      keys.set(src.k.subarray(row + src.kOffset, row + src.kOffset + len), dst);
      values.set(src.v.subarray(row + src.vOffset, row + src.vOffset + len), dst);
    }
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
