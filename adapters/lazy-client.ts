/**
 * An AWS SDK client given as itself, or as a function that makes it on first use. A consumer without
 * fan-out never loads the EventBridge or SQS client packages, which would cost every cold start.
 */
export type LazyClient<Client> = Client | (() => Promise<Client>);

export function resolveClient<Client extends object>(client: LazyClient<Client>): Promise<Client> {
  return typeof client === 'function' ? (client as () => Promise<Client>)() : Promise.resolve(client);
}

/** Memoises a factory, so the client is made once per container. */
export function once<Value>(make: () => Promise<Value>): () => Promise<Value> {
  let made: Promise<Value> | undefined;
  return () => (made ??= make());
}
