// The engine's public surface. Nothing here imports the CLI, the local runner or the CDK construct, so a
// Lambda bundle that imports `streamfold` stays lean.
export { defineProjection, generationOf } from './projection/define.js';
export type {
  Contribution,
  Projection,
  ProjectionEvent,
  SumProjection,
  ViewProjection,
  ViewState,
} from './projection/define.js';
export { exactInteger, exactNumber } from './projection/schemas.js';
export { defineFanOut, type FanOut, type FanOutTarget } from './fanout/define.js';
export {
  defineEventLog,
  defineEventProjection,
  type DomainEvent,
  type EventLog,
  type EventProjection,
  type EventSumProjection,
  type EventViewProjection,
} from './eventlog/define.js';
export { defaultMessage } from './fanout/message.js';
export { Decimal, type ExactNumber } from './records/decimal.js';
export type { Item, ItemValue } from './records/attribute-value.js';
export type { ChangeEvent, ChangeKind } from './records/change-event.js';
export { StreamfoldError, isStreamfoldError, type StreamfoldErrorCode } from './core/errors.js';
