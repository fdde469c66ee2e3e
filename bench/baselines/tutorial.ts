import { DeleteCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

/** The projections a baseline keeps, in the way tutorials show: one write per projection per record. */
export type BaselineProjection = 'customer-totals' | 'order-status-counts' | 'order-view';

interface StreamRecordLike {
  readonly eventID?: string;
  readonly dynamodb?: { readonly NewImage?: Record<string, unknown>; readonly OldImage?: Record<string, unknown>; readonly ApproximateCreationDateTime?: number };
}

type Order = { orderId: string; customerId: string; status: string; amount: number };

/**
 * The common tutorial handler body for one record: `ADD` the change to each group with an UpdateCommand
 * (two when an order moves between groups), and put or delete the order's view. It is not idempotent: a
 * redelivered record is added again.
 */
export async function applyRecordTheTutorialWay(
  documents: DynamoDBDocumentClient,
  table: string,
  projections: ReadonlySet<BaselineProjection>,
  record: StreamRecordLike,
): Promise<void> {
  const next = record.dynamodb?.NewImage === undefined ? undefined : (unmarshall(record.dynamodb.NewImage as never) as Order);
  const previous = record.dynamodb?.OldImage === undefined ? undefined : (unmarshall(record.dynamodb.OldImage as never) as Order);
  const add = (pk: string, fields: Record<string, number>) => {
    const names = Object.keys(fields).filter((field) => fields[field] !== 0);
    if (names.length === 0) return Promise.resolve();
    return documents.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk },
        UpdateExpression: `ADD ${names.map((_, index) => `#f${index} :v${index}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(names.map((name, index) => [`#f${index}`, name])),
        ExpressionAttributeValues: Object.fromEntries(names.map((name, index) => [`:v${index}`, fields[name]])),
      }),
    );
  };
  const writes: Promise<unknown>[] = [];
  if (projections.has('customer-totals')) {
    if (previous !== undefined && next !== undefined && previous.customerId === next.customerId) {
      writes.push(add(`customer-totals#${next.customerId}`, { amount: next.amount - previous.amount }));
    } else {
      if (previous !== undefined) writes.push(add(`customer-totals#${previous.customerId}`, { orders: -1, amount: -previous.amount }));
      if (next !== undefined) writes.push(add(`customer-totals#${next.customerId}`, { orders: 1, amount: next.amount }));
    }
  }
  if (projections.has('order-status-counts') && previous?.status !== next?.status) {
    if (previous !== undefined) writes.push(add(`order-status-counts#${previous.status}`, { orders: -1 }));
    if (next !== undefined) writes.push(add(`order-status-counts#${next.status}`, { orders: 1 }));
  }
  if (projections.has('order-view')) {
    const orderId = next?.orderId ?? previous?.orderId;
    writes.push(
      next === undefined
        ? documents.send(new DeleteCommand({ TableName: table, Key: { pk: `order-view#${orderId}` } }))
        : documents.send(
            new PutCommand({
              TableName: table,
              Item: { pk: `order-view#${orderId}`, customerId: next.customerId, status: next.status, amount: next.amount },
            }),
          ),
    );
  }
  await Promise.all(writes);
}
