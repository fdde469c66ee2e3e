export { createDynamoDbClient } from './client.js';
export { DEFAULT_TABLE_NAMES, type TableNames } from './layout.js';
export { createReadModelClient, type ReadModelClient } from './reader.js';
export { DynamoDbReadModelStore, type DynamoDbStoreOptions } from './store.js';
export { createStreamfoldTables } from './tables.js';
export { DynamoDbUsage, type UsageSnapshot } from './usage.js';
