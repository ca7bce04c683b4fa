/**
 * Reusable buffers for NATS chunk messages, inside the memory of the checksum's WebAssembly code.
 *
 * A NATS message is one Uint8Array, so the NATS channel writes each chunk — prefix, K, V, header —
 * into one buffer. Taking that buffer from a pool saves what a fresh 768 KiB buffer per chunk costs
 * (page faults on first touch, GC of external memory), and placing the pool's slots in a
 * `KvHasher`'s memory lets the checksum run over the written payload in place, at SIMD speed
 * (docs/benchmarks.md, "KV transfer"). A slot is reused only once nothing can read it any more:
 *
 *   publish(seq s, slot) ─▶ nats.js outbound list ─▶ flush copies it into the socket write
 *                                                   (the outbound always holds ≥ 3 pieces:
 *                                                   "PUB …\r\n", the message, "\r\n", so it packs them)
 *   receiver imported s  ⇒  the server delivered s  ⇒  nats.js had flushed it  ⇒  the slot is free
 *
 * The receiver's KvCredit carries `received_seq` (every chunk ≤ it is imported), so the sender
 * hands slots back on credit. Slots of a failed transfer are never handed back (a disconnected
 * client still holds unflushed messages). Slots live in slabs of up to 8, created on demand up to
 * `maxSlots`; WebAssembly memory never shrinks, so a slab stays for the life of the pool. Past
 * `maxSlots` (many transfers at once), or for a message larger than a slot, a one-off buffer is
 * used and its checksum streams through the shared hasher.
 */
import { KvHasher, sharedHasher } from './kv-hash.ts';

/** Where one message is written: `bytes` (its capacity) and the checksum of a range of it. */
export interface MessageSlot {
  readonly bytes: Uint8Array;
  hash(from: number, n: number): number;
  /** True for a slot of the pool (reusable); false for a one-off buffer. */
  readonly pooled: boolean;
}

const SLAB_SLOTS = 8;

export class MessagePool {
  private readonly free: MessageSlot[] = [];
  private slots = 0;

  /**
   * @param slotBytes capacity of each slot (a larger message gets a one-off buffer)
   * @param maxSlots  slots this pool may ever create
   */
  constructor(
    readonly slotBytes: number,
    readonly maxSlots: number,
  ) {}

  /** A slot with room for at least `byteLength` bytes. */
  take(byteLength: number): MessageSlot {
    if (byteLength <= this.slotBytes) {
      if (this.free.length === 0 && this.slots < this.maxSlots) this.addSlab();
      const slot = this.free.pop();
      if (slot) return slot;
    }
    const bytes = new Uint8Array(byteLength);
    return { bytes, pooled: false, hash: (from, n) => sharedHasher().hashParts([bytes.subarray(from, from + n)]) };
  }

  /** Returns a slot from `take` once nothing reads it any more (one-off buffers are dropped). */
  give(slot: MessageSlot): void {
    if (slot.pooled) this.free.push(slot);
  }

  /** Slots waiting for reuse (tests, metrics). */
  get freeCount(): number {
    return this.free.length;
  }

  /** Slots created so far (never more than maxSlots). */
  get createdCount(): number {
    return this.slots;
  }

  private addSlab(): void {
    const n = Math.min(SLAB_SLOTS, this.maxSlots - this.slots);
    const slab = new KvHasher(n, this.slotBytes);
    for (let i = n - 1; i >= 0; i--) {
      const offset = slab.slotOffset(i);
      const bytes = slab.memory.subarray(offset, offset + this.slotBytes);
      this.free.push({ bytes, pooled: true, hash: (from, len) => slab.hashRange(offset + from, len) });
    }
    this.slots += n;
  }
}

/**
 * One transfer's published-but-unacknowledged messages, in seq order. `acked(s)` returns every
 * slot ≤ s to the pool; `abandon()` forgets the rest (failed transfer).
 */
export class InFlightMessages {
  private readonly seqs: number[] = [];
  private readonly slots: MessageSlot[] = [];

  constructor(private readonly pool: MessagePool) {}

  add(seq: number, slot: MessageSlot): void {
    this.seqs.push(seq);
    this.slots.push(slot);
  }

  acked(upToSeq: number): void {
    let n = 0;
    while (n < this.seqs.length && this.seqs[n] <= upToSeq) this.pool.give(this.slots[n++]);
    this.seqs.splice(0, n);
    this.slots.splice(0, n);
  }

  abandon(): void {
    this.seqs.length = 0;
    this.slots.length = 0;
  }

  get size(): number {
    return this.seqs.length;
  }
}
