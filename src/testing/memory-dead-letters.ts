import type { DeadLetterStore, ParkedRecord } from '../projection/ports.js';

/** Parked records in memory, for tests and the projection test kit. */
export class MemoryDeadLetterStore implements DeadLetterStore {
  readonly records = new Map<string, ParkedRecord>();

  async park(records: readonly ParkedRecord[]): Promise<void> {
    for (const record of records) this.records.set(record.id, record);
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
    for (const record of records) this.records.delete(record.id);
  }
}
