/**
 * The simulator's event queue: a binary min-heap on (time, insertion number), so events at equal
 * times run in the order they were scheduled — the one rule that makes a run deterministic.
 *
 * Parallel arrays instead of one object per entry keep pushes and pops allocation-free:
 *
 *   index   0      1      2      …        heap order: parent(i) = (i − 1) >> 1
 *   at     [t0]   [t1]   [t2]             key = (at, seq), lexicographic
 *   seq    [s0]   [s1]   [s2]
 *   item   [e0]   [e1]   [e2]
 *
 * Costs: push and pop O(log n), peek O(1); memory three slots per pending event.
 */
export class EventQueue<T> {
  private at: number[] = [];
  private seqs: number[] = [];
  private items: T[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.items.length;
  }

  /** Time of the earliest event; Infinity when empty. */
  peekTime(): number {
    return this.items.length ? this.at[0] : Infinity;
  }

  push(at: number, item: T): void {
    if (!Number.isFinite(at)) throw new RangeError(`event time must be finite, got ${at}`);
    const seq = this.nextSeq++;
    let i = this.items.length;
    this.at.push(at);
    this.seqs.push(seq);
    this.items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(at, seq, p)) break;
      this.move(p, i);
      i = p;
    }
    this.set(i, at, seq, item);
  }

  /** Removes and returns the earliest event (ties: first scheduled first), or undefined when empty. */
  pop(): { at: number; item: T } | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    const top = { at: this.at[0], item: this.items[0] };
    const lastAt = this.at.pop()!;
    const lastSeq = this.seqs.pop()!;
    const lastItem = this.items.pop()!;
    if (n === 1) return top;
    let i = 0;
    const m = n - 1;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= m) break;
      const r = l + 1;
      const c = r < m && this.lessIdx(r, l) ? r : l;
      if (!this.lessThan(c, lastAt, lastSeq)) break;
      this.move(c, i);
      i = c;
    }
    this.set(i, lastAt, lastSeq, lastItem);
    return top;
  }

  private less(at: number, seq: number, j: number): boolean {
    return at < this.at[j] || (at === this.at[j] && seq < this.seqs[j]);
  }

  private lessIdx(i: number, j: number): boolean {
    return this.less(this.at[i], this.seqs[i], j);
  }

  /** Entry j sorts before (at, seq). */
  private lessThan(j: number, at: number, seq: number): boolean {
    return this.at[j] < at || (this.at[j] === at && this.seqs[j] < seq);
  }

  private move(from: number, to: number): void {
    this.set(to, this.at[from], this.seqs[from], this.items[from]);
  }

  private set(i: number, at: number, seq: number, item: T): void {
    this.at[i] = at;
    this.seqs[i] = seq;
    this.items[i] = item;
  }
}
