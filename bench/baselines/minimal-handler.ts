// The smallest hand-written consumer doing the same work as the streamfold bundle in the cold-start
// benchmark: customer totals with one UpdateCommand ADD per record, nothing else.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const table = process.env.MINIMAL_TABLE ?? 'minimal';

export const handler = async (event: { Records: { dynamodb?: { NewImage?: Record<string, never> } }[] }) => {
  for (const record of event.Records) {
    if (record.dynamodb?.NewImage === undefined) continue;
    const order = unmarshall(record.dynamodb.NewImage) as { customerId: string; amount: number };
    await documents.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: `customer-totals#${order.customerId}` },
        UpdateExpression: 'ADD orders :one, amount :amount',
        ExpressionAttributeValues: { ':one': 1, ':amount': order.amount },
      }),
    );
  }
  return { batchItemFailures: [] };
};
