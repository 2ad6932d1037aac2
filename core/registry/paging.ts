/** `(limit, after)` paging over one partition, with an optional filter that may drop items. */
import type { Item, Table } from '../ports/table.ts';
import { afterPrefix } from './keys.ts';

/** Every item of a partition (under a prefix), following `next` page after page. */
export async function* allItems(table: Table, pk: string, options: { prefix?: string; limit?: number } = {}): AsyncGenerator<Item> {
  let after: string | undefined;
  do {
    const page = await table.query(pk, { ...options, after });
    yield* page.items;
    after = page.next;
  } while (after !== undefined);
}

export interface Page<T> {
  entries: T[];
  /** Set when more entries follow: the last entry's name, for `last=`. */
  last?: string;
}

export async function pageOf<T>(
  table: Table,
  pk: string,
  prefix: string,
  limit: number,
  last: string | undefined,
  map: (item: Item) => T | undefined,
): Promise<Page<T>> {
  const entries: T[] = [];
  let after = last === undefined ? undefined : prefix + last;
  let lastName: string | undefined;
  while (entries.length < limit) {
    const page = await table.query(pk, { prefix, after, limit: Math.min(1000, limit - entries.length + 1) });
    for (const item of page.items) {
      if (entries.length === limit) return { entries, last: lastName };
      const value = map(item);
      if (value !== undefined) {
        entries.push(value);
        lastName = afterPrefix(item.sk, prefix);
      }
    }
    if (page.next === undefined) return { entries };
    after = page.next;
  }
  // Filled exactly: look one item ahead so `last` is only set when something follows.
  const ahead = await table.query(pk, { prefix, after, limit: 1 });
  return ahead.items.length > 0 ? { entries, last: lastName } : { entries };
}
