/**
 * The change stream of the index, as replication's on-push trigger reads it: every successful
 * write or delete of a TAG or MANIFEST item, whoever made it (a push, the CLI, a mirror). On AWS
 * this is what DynamoDB Streams delivers; locally a `Table` wrapped here reports the same
 * changes in process, after the write has succeeded.
 */
import type { AttributeValue, Condition, Item, Table } from '../ports/table.ts';
import { keys } from '../registry/keys.ts';
import type { Change } from './types.ts';

export function watchChanges(table: Table, onChange: (change: Change) => void, now: () => number = Date.now): Table {
  const report = (pk: string, sk: string, op: Change['op'], attrs?: Record<string, AttributeValue | undefined>) => {
    const what = keys.repositoryItemOf(pk, sk);
    if (!what) return;
    const subject = attrs && typeof attrs.subject === 'string' ? attrs.subject : undefined;
    const at = attrs && typeof attrs.pushedAt === 'number' ? attrs.pushedAt : now();
    try {
      onChange({ repository: what.repository, kind: what.kind, id: what.id, op, at, ...(subject ? { subject } : {}) });
    } catch {
      // A trigger's failure never fails the write: reconciliation repairs a lost change.
    }
  };
  const wrapped: Table = {
    get: (pk, sk) => table.get(pk, sk),
    async put(item: Item, condition?: Condition) {
      await table.put(item, condition);
      report(item.pk, item.sk, 'put', item.attrs);
    },
    async update(pk, sk, set, condition) {
      const item = await table.update(pk, sk, set, condition);
      // Stamping lastRef on a manifest is no change of it; a tag update (immutable re-push) is.
      if (!('lastRef' in set && Object.keys(set).length === 1)) report(pk, sk, 'put', item.attrs);
      return item;
    },
    async delete(pk, sk, condition) {
      await table.delete(pk, sk, condition);
      report(pk, sk, 'delete');
    },
    query: (pk, options) => table.query(pk, options),
  };
  if (table.scanPartitions) wrapped.scanPartitions = (prefix, options) => table.scanPartitions!(prefix, options);
  if (table.close) wrapped.close = () => table.close!();
  return wrapped;
}
