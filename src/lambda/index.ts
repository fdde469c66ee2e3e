export { createHandler, type HandlerOptions, type StreamHandler } from './handler.js';
export type { BatchReport, BatchStats } from '../consumer.js';
export type { BatchResponse } from '../records/stream-record.js';
export { collectModule } from '../projection/collect.js';
