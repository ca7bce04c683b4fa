/**
 * The double's watch cache: every write appends one event stamped with the global resourceVersion
 * it produced. A watch from resourceVersion X replays the retained events after X, then follows
 * live ones. Like etcd compaction, the log keeps only the newest `maxEvents`; a watch from an RV
 * older than what was dropped gets 410 Gone and the client must relist.
 *
 *   compactedRv            retained events                    rv (newest)
 *        │  ┌────┬────┬────┬────┐                                │
 *   ─────┴──┤ 41 │ 42 │ 43 │ 44 ├────────────────────────────────┘
 *           └────┴────┴────┴────┘
 *   watch from 40 or later → replay (rv > X);   watch from 39 → 410 (event 40 is gone)
 */
import type { StoreEvent } from './types.ts';

export type EventListener = (event: StoreEvent) => void;

export class EventLog {
  private events: StoreEvent[] = [];
  /** Events with rv ≤ compactedRv may have been dropped. */
  private compactedRv = 0;
  private readonly listeners = new Set<EventListener>();

  constructor(private readonly maxEvents: number) {}

  append(event: StoreEvent): void {
    this.events.push(event);
    if (this.events.length > this.maxEvents) {
      const dropped = this.events.splice(0, this.events.length - this.maxEvents);
      this.compactedRv = dropped[dropped.length - 1].rv;
    }
    for (const l of this.listeners) l(event);
  }

  /** Events after `rv` for `resource`, or 'gone' when some of them were compacted away. */
  since(resource: string, rv: number): StoreEvent[] | 'gone' {
    if (rv < this.compactedRv) return 'gone';
    return this.events.filter((e) => e.rv > rv && e.resource === resource);
  }

  /** Drops every retained event: any watch from an RV before `upTo` now gets 410. */
  compact(upTo: number): void {
    this.events = this.events.filter((e) => e.rv > upTo);
    this.compactedRv = Math.max(this.compactedRv, upTo);
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
