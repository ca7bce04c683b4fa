/** Expert-load state of the router (MoE): profiles by prefix and per-worker expert load. */
export { PrefixProfiles, histogramToVector, type ExpertHistogramLayer } from './prefix-profiles.ts';
export { ExpertLoadTracker } from './expert-load.ts';
