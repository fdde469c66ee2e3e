/**
 * The pages of a Scan or Query, one after another, each read from where the last one stopped; `read` sends
 * the request for one page from the given start key.
 */
export async function* pages<Item, Key>(
  read: (startKey: Key | undefined) => Promise<{ Items?: Item[]; LastEvaluatedKey?: Key }>,
): AsyncGenerator<Item[]> {
  let startKey: Key | undefined;
  do {
    const page = await read(startKey);
    yield page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
}
