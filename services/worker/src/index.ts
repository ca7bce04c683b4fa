/** Public entry of @duet/worker: the worker process body (prefill, decode or both) and its config. */
export { Worker, type WorkerDeps } from './worker.ts';
export { WORKER_ROLES, parseWorkerConfig, resolveWorkerConfig, workerConfigSchema, type WorkerConfig, type WorkerConfigInput, type WorkerRoleName } from './config.ts';
export { WorkerError } from './wire-map.ts';
export { WorkerControl, type ControlTarget } from './control.ts';
