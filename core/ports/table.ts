/**
 * `Table`: items addressed by (partition key, sort key), the index of everything the registry
 * knows. Modelled on what DynamoDB gives with single-item operations, so every adapter can keep
 * the same promises:
 * - each write is atomic on its one item; there are no multi-item transactions, so callers order
 *   their writes so that any prefix of them leaves a consistent (if untidy) index;
 * - a conditional write either happens whole or throws `ConditionFailedError` and changes nothing;
 * - puts and deletes are idempotent (a retry after an unknown outcome is safe);
 * - queries return items of one partition in ascending sort-key order, paged by `(limit, after)`.
 */

/** Attribute values: JSON-like, plus raw bytes. */
export type AttributeValue =
  | string
  | number
  | boolean
  | null
  | Uint8Array
  | AttributeValue[]
  | { [key: string]: AttributeValue };

export type Attributes = { [key: string]: AttributeValue };

export interface Item {
  pk: string;
  sk: string;
  attrs: Attributes;
}

/** A single-item condition, evaluated atomically with the write it guards. */
export type Condition =
  | { kind: 'absent' }
  | { kind: 'exists' }
  | { kind: 'equals'; attr: string; value: string | number | boolean }
  /** True when the attribute is missing, too. */
  | { kind: 'lessThan'; attr: string; value: number };

export interface QueryOptions {
  /** Only sort keys starting with this prefix. */
  prefix?: string;
  /** At most this many items (adapters may cap it; callers page on). */
  limit?: number;
  /** Exclusive lower bound on the sort key (the last key of the previous page). */
  after?: string;
}

export interface QueryPage {
  items: Item[];
  /** Present when more items may follow: pass it as `after`. */
  next?: string;
}

export interface Table {
  get(pk: string, sk: string): Promise<Item | undefined>;
  /** Replaces the whole item. */
  put(item: Item, condition?: Condition): Promise<void>;
  /** Sets (or, with undefined, removes) some attributes; creates the item when it is absent and no condition forbids it. */
  update(pk: string, sk: string, set: { [key: string]: AttributeValue | undefined }, condition?: Condition): Promise<Item>;
  /** Deleting an absent item succeeds (unless a condition fails). */
  delete(pk: string, sk: string, condition?: Condition): Promise<void>;
  query(pk: string, options?: QueryOptions): Promise<QueryPage>;
  /** Every partition key starting with a prefix, paged; for maintenance (GC), never the request path. */
  scanPartitions?(prefix: string, options?: { limit?: number; after?: string }): Promise<{ keys: string[]; next?: string }>;
  close?(): Promise<void>;
}

export class ConditionFailedError extends Error {
  constructor(readonly pk: string, readonly sk: string) {
    super(`condition failed on ${pk} / ${sk}`);
    this.name = 'ConditionFailedError';
  }
}
