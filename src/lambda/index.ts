export { createHandler, type HandlerOptions, type LambdaContext, type StreamHandler } from './handler.js';
export type { BatchReport, BatchStats, InvocationContext } from '../consumer/consumer.js';
export type { BatchResponse } from '../records/stream-record.js';
export type { MetricDocument, MetricWriter } from '../consumer/metrics.js';
export { collectModule } from '../catalog/collect.js';
export { createRebuildWorker, type RebuildWorker, type RebuildWorkerOptions, type RebuildWorkerResult } from './rebuild-worker.js';
