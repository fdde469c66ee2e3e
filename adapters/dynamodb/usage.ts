/** What the adapter asked of DynamoDB: requests by operation and write units as AWS bills them. */
export class DynamoDbUsage {
  readonly requests = new Map<string, number>();
  billedWriteUnits = 0;
  consumedReadUnits = 0;
  itemsWritten = 0;

  request(operation: string): void {
    this.requests.set(operation, (this.requests.get(operation) ?? 0) + 1);
  }

  get totalRequests(): number {
    let total = 0;
    for (const count of this.requests.values()) total += count;
    return total;
  }

  snapshot(): UsageSnapshot {
    return {
      requests: Object.fromEntries([...this.requests].sort(([a], [b]) => a.localeCompare(b))),
      totalRequests: this.totalRequests,
      billedWriteUnits: this.billedWriteUnits,
      consumedReadUnits: Math.round(this.consumedReadUnits * 10) / 10,
      itemsWritten: this.itemsWritten,
    };
  }
}

export interface UsageSnapshot {
  readonly requests: Record<string, number>;
  readonly totalRequests: number;
  readonly billedWriteUnits: number;
  readonly consumedReadUnits: number;
  readonly itemsWritten: number;
}
