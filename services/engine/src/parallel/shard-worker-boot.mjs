// Entry of a shard worker thread (see remote-shard.ts). The engine's processes run TypeScript through
// tsx (`node --import tsx`), but Node 20 does not carry that --import hook into worker threads, so
// the worker registers tsx itself before loading the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./shard-worker.ts');
