import type { DeadLetterStore, ParkedRecord } from '../projection/ports.js';
import { fromWireJson, toWireJson } from '../records/wire-json.js';

/**
 * Parked records in memory, for tests and the projection test kit. They are kept as the wire JSON the
 * DynamoDB and SQS stores write, so a test sees what those would hand back (a copy, binaries as bytes).
 */
export class MemoryDeadLetterStore implements DeadLetterStore {
  private readonly stored = new Map<string, string>();

  /** What is parked now, by id. */
  get records(): ReadonlyMap<string, ParkedRecord> {
    return new Map([...this.stored].map(([id, text]) => [id, fromWireJson(text) as ParkedRecord]));
  }

  async park(records: readonly ParkedRecord[]): Promise<void> {
    for (const record of records) this.stored.set(record.id, toWireJson(record));
  }

  async *list(filter: { generation?: string; key?: string } = {}): AsyncIterable<ParkedRecord> {
    const matching = [...this.records.values()].filter(
      (record) =>
        (filter.generation === undefined || record.generation === filter.generation) &&
        (filter.key === undefined || record.key === filter.key),
    );
    yield* matching.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async remove(records: readonly ParkedRecord[]): Promise<void> {
    for (const record of records) this.stored.delete(record.id);
  }
}
