export { createHandler, type HandlerOptions, type LambdaContext, type StreamHandler } from './handler.js';
export type { BatchReport, BatchStats, InvocationContext } from '../consumer.js';
export type { BatchResponse } from '../records/stream-record.js';
export type { MetricDocument, MetricWriter } from '../metrics.js';
export { collectModule } from '../projection/collect.js';
