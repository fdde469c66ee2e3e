// `streamfold/testing`: test a projection without DynamoDB.
export { projectionTest, put, remove, recordsOf, ALL_DELIVERIES, type Delivery, type TableChange } from './projection-test.js';
export { MemoryReadModelStore } from './memory-store.js';
export { MemoryDeadLetterStore } from './memory-dead-letters.js';
