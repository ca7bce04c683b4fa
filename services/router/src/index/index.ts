/**
 * The router's prefix index, event-sourced from the workers' KV events: PrefixIndex (the data
 * structure, its costs and memory documented there) and KvEventSync (NATS: events in, snapshots
 * on gaps, new workers and start). Re-exported by the lead through the package entry.
 */
export { PrefixIndex, PREFIX_INDEX_DEFAULTS, type ApplyResult, type PrefixIndexOptions, type PrefixIndexStats, type SnapshotResult } from './prefix-index.ts';
export { KvEventSync, KV_EVENT_SYNC_DEFAULTS, type KvEventSyncCounters, type KvEventSyncOptions, type KvEventSyncTimers } from './kv-event-sync.ts';
