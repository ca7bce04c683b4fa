/** Public entry of the Kubernetes plumbing: clients, informers, work queue, leader election, Events. */
export { KubeClients, RESOURCES, collectionPath, type ResourceRef } from './clients.ts';
export { ManualClock, systemClock, type Clock, type TimerHandle } from './clock.ts';
export { KubeConfigError, loadKubeConfig, type KubeConfigSource } from './config.ts';
export { apiMessage, isConflict, isNotFound, statusCode } from './errors.ts';
export { EventRecorder, type EventType } from './events.ts';
export { ResourceInformer, type InformerOptions } from './informer.ts';
export { LEADER_ELECTION_DEFAULTS, LeaderElector, leaseClient, type LeaderElectionOptions, type LeaseClient } from './leader.ts';
export { WorkQueue, processQueue, type HandlerResult } from './workqueue.ts';
