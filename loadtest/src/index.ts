/**
 * Public entry of @duet/loadtest: workloads (trace replay and synthetic), arrival processes, the
 * streaming client, the runner, metrics, reports and the comparison driver. The workload and
 * metrics parts are pure, so the cluster simulator reuses them with its own SendFn and clock.
 */
export { WorkloadError, type TokenRange, type SessionLabel, type Workload, type WorkloadRequest } from './workload/types.ts';
export { Rng } from './workload/rng.ts';
export { blockTokens, randomTokens, tokenRangeForVocab } from './workload/tokens.ts';
export { prefixReuseBound, hashIdReuseBound, type ReuseBound } from './workload/bound.ts';
export { MOONCAKE_BLOCK_TOKENS, mooncakeWorkload, parseMooncake, scaleRow, type MooncakeOptions, type MooncakeRow } from './workload/mooncake.ts';
export { azureWorkload, parseAzure, type AzureOptions, type AzureRow } from './workload/azure.ts';
export { multiTurnWorkload, sharedPrefixWorkload, type MultiTurnOptions, type SharedPrefixOptions } from './workload/synthetic.ts';
export { DOMAIN_NAMES, moeDomainWorkload, parseDomainMix, type MoeDomainOptions } from './workload/moe-domains.ts';
export { WORKLOAD_DEFAULTS, WORKLOAD_NAMES, buildWorkload, type ModelShape, type WorkloadName, type WorkloadSpec } from './workload/build.ts';
export { describeArrival, scheduleArrivals, type ArrivalSpec } from './workload/arrivals.ts';
export { realClock, VirtualClock, type Clock } from './run/clock.ts';
export type { RequestTiming } from './run/timing.ts';
export { runRequests, type RunnerOptions, type SendContext, type SendFn } from './run/runner.ts';
export { Progress, type ProgressOptions, type ProgressOut } from './run/progress.ts';
export { apiBase, completionsClient, listModels, type ClientOptions, type ServedModelInfo } from './client/openai.ts';
export {
  bucketSeconds,
  itlsOf,
  meetsSlo,
  percentile,
  stats,
  summarize,
  timeline,
  tpotOf,
  ttftOf,
  type MetricSummary,
  type Slo,
  type Stats,
  type TimelinePoint,
} from './metrics.ts';
export type { LoadTestResult } from './result.ts';
export { DEFAULT_BLOCK_SIZE, DEFAULT_SLO, runLoadTest, warmUp, warmupRequests, type LoadTestOptions, type LoadTestRun, type WarmUpOptions } from './loadtest.ts';
export { lineChart, niceTicks, type ChartOptions, type Series } from './report/svg.ts';
export { cdfPoints, chartFiles, type NamedRun } from './report/charts.ts';
export { renderCompareReport, renderReport, type CompareEntry } from './report/markdown.ts';
export { writeRun } from './report/write.ts';
export {
  PLACEMENT_MODES,
  buildVariants,
  runCompare,
  type CompareOptions,
  type CompareResult,
  type LaunchedTarget,
  type PlacementMode,
  type Variant,
  type VariantsSpec,
} from './compare.ts';
export {
  COST_MODEL_KIND,
  CostModelError,
  DEFAULT_COST_MODEL_PATH,
  chunkPairs,
  costModelSchema,
  linkMs,
  loadCostModel,
  parseCostModel,
  stepMs,
  type CostModel,
  type StepWork,
} from './sim/cost-model.ts';
export { FitError, PLATFORM_DEFAULTS, bodyParams, fitCostModel, readBenchRecords, shapeFromConfig, type EngineBench, type FitOptions, type FitShape, type KvTransferBench } from './sim/fit.ts';
export { EventQueue } from './sim/event-queue.ts';
export { SimKvCache, type CachedBlock, type KvEventOps } from './sim/kv-cache.ts';
export { azureNative, fromWorkload, hashReuseBound, hashTokenBlocks, hex64, mooncakeNative, type BlockHash, type SimRequest } from './sim/requests.ts';
export { SimSeq, SimWorker, type Chunk, type SeqMode, type SimEngineConfig, type SimRole, type WorkerHooks } from './sim/worker.ts';
export { SimRouter } from './sim/router.ts';
export { SimCluster, pickVictims, type ClusterOptions, type ClusterStats, type PoolName as SimPoolName, type Ticker } from './sim/cluster.ts';
export { SimAutoscaler, type ReplicaPoint } from './sim/autoscale.ts';
export { calibratePlatform, type Calibration } from './sim/calibrate.ts';
export { replicasChart, writeSimulation } from './sim/report.ts';
export { TRACE_FILES, buildSource, resolveTrace, workloadsDir, type Source, type SourceSpec, type TraceKind, type TraceName } from './sim/source.ts';
export {
  SIM_ENGINE_DEFAULTS,
  SIM_POLICIES,
  engineConfig,
  resolveSimPolicy,
  simulate,
  type SimulateOptions,
  type SimulationInfo,
  type SimulationResult,
} from './sim/simulate.ts';
