/**
 * A `Table` and an `ObjectStore` whose implementation is built on first use. Lambda hosts wrap
 * their AWS adapters in these with a dynamic import, so a cold start that answers a request which
 * touches no storage (`GET /v2/`, a denial) never evaluates the AWS SDK: about 150 ms of CPU and
 * 15 MB of a cold start, measured on the registry bundle. A failed load is retried on next use.
 */
import type { Body, ByteRange, CompletedPart, MultipartLimits, ObjectStore } from '../ports/object-store.ts';
import type { Condition, Item, QueryOptions, Table } from '../ports/table.ts';

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () =>
    (loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    }));
}

export function lazyTable(load: () => Promise<Table>): Table {
  const real = once(load);
  return {
    get: async (pk, sk) => (await real()).get(pk, sk),
    put: async (item: Item, condition?: Condition) => (await real()).put(item, condition),
    update: async (pk, sk, set, condition) => (await real()).update(pk, sk, set, condition),
    delete: async (pk, sk, condition) => (await real()).delete(pk, sk, condition),
    query: async (pk, options?: QueryOptions) => (await real()).query(pk, options),
    async scanPartitions(prefix, options) {
      const table = await real();
      if (!table.scanPartitions) throw new Error('this table cannot list partitions');
      return table.scanPartitions(prefix, options);
    },
  };
}

/** `limits` are needed before any call (they are advertised to clients), so they are given here. */
export function lazyObjectStore(limits: MultipartLimits, load: () => Promise<ObjectStore>): ObjectStore {
  const real = once(load);
  return {
    limits,
    put: async (key: string, body: Body, options?: { size?: number }) => (await real()).put(key, body, options),
    get: async (key: string, range?: ByteRange) => (await real()).get(key, range),
    head: async (key) => (await real()).head(key),
    delete: async (key) => (await real()).delete(key),
    setTags: async (key, tags) => (await real()).setTags(key, tags),
    signedGetUrl: async (key, options) => (await real()).signedGetUrl(key, options),
    list: async (prefix, options) => (await real()).list(prefix, options),
    createMultipart: async (key) => (await real()).createMultipart(key),
    uploadPart: async (key, uploadId, partNumber, body, options) => (await real()).uploadPart(key, uploadId, partNumber, body, options),
    completeMultipart: async (key, uploadId, parts: CompletedPart[]) => (await real()).completeMultipart(key, uploadId, parts),
    abortMultipart: async (key, uploadId) => (await real()).abortMultipart(key, uploadId),
  };
}
