// The single-item conditions, each checked on every write that takes one (put, update, delete):
// when the condition holds the write happens whole; when it does not, the write throws
// ConditionFailedError and the item is exactly as before (or still absent).
import { describe, expect, it } from 'vitest';
import type { Attributes, Condition, Table } from '../../core/ports/table.ts';
import type { TableContext } from './table-contract.ts';
import { expectConditionFailed, expectSameAttribute } from './table-expectations.ts';

interface Case {
  name: string;
  /** The item before the write; undefined: absent. */
  current: Attributes | undefined;
  condition: Condition;
  holds: boolean;
}

const cases: Case[] = [
  { name: 'absent on a missing item', current: undefined, condition: { kind: 'absent' }, holds: true },
  { name: 'absent on an existing item', current: { v: 1 }, condition: { kind: 'absent' }, holds: false },
  { name: 'absent on an existing item without attributes', current: {}, condition: { kind: 'absent' }, holds: false },
  { name: 'exists on an existing item', current: { v: 1 }, condition: { kind: 'exists' }, holds: true },
  { name: 'exists on an existing item without attributes', current: {}, condition: { kind: 'exists' }, holds: true },
  { name: 'exists on a missing item', current: undefined, condition: { kind: 'exists' }, holds: false },
  { name: 'equals, matching string', current: { digest: 'sha256:a' }, condition: { kind: 'equals', attr: 'digest', value: 'sha256:a' }, holds: true },
  { name: 'equals, other string', current: { digest: 'sha256:a' }, condition: { kind: 'equals', attr: 'digest', value: 'sha256:b' }, holds: false },
  { name: 'equals, matching number', current: { version: 7 }, condition: { kind: 'equals', attr: 'version', value: 7 }, holds: true },
  { name: 'equals, other number', current: { version: 7 }, condition: { kind: 'equals', attr: 'version', value: 8 }, holds: false },
  { name: 'equals, matching boolean', current: { immutable: false }, condition: { kind: 'equals', attr: 'immutable', value: false }, holds: true },
  { name: 'equals, other boolean', current: { immutable: true }, condition: { kind: 'equals', attr: 'immutable', value: false }, holds: false },
  { name: 'equals, number against its string', current: { version: 1 }, condition: { kind: 'equals', attr: 'version', value: '1' }, holds: false },
  { name: 'equals, boolean against its string', current: { flag: true }, condition: { kind: 'equals', attr: 'flag', value: 'true' }, holds: false },
  { name: 'equals, missing attribute', current: { other: 'sha256:a' }, condition: { kind: 'equals', attr: 'digest', value: 'sha256:a' }, holds: false },
  { name: 'equals, missing item', current: undefined, condition: { kind: 'equals', attr: 'digest', value: 'sha256:a' }, holds: false },
  { name: 'lessThan, smaller', current: { lastRef: 4 }, condition: { kind: 'lessThan', attr: 'lastRef', value: 5 }, holds: true },
  { name: 'lessThan, smaller fraction', current: { lastRef: 4.5 }, condition: { kind: 'lessThan', attr: 'lastRef', value: 5 }, holds: true },
  { name: 'lessThan, negative', current: { lastRef: -1 }, condition: { kind: 'lessThan', attr: 'lastRef', value: 0 }, holds: true },
  { name: 'lessThan, equal', current: { lastRef: 5 }, condition: { kind: 'lessThan', attr: 'lastRef', value: 5 }, holds: false },
  { name: 'lessThan, larger', current: { lastRef: 6 }, condition: { kind: 'lessThan', attr: 'lastRef', value: 5 }, holds: false },
  {
    name: 'lessThan, millisecond timestamps',
    current: { lastRef: 1_767_225_600_000 },
    condition: { kind: 'lessThan', attr: 'lastRef', value: 1_767_225_600_001 },
    holds: true,
  },
  {
    name: 'lessThan, equal millisecond timestamps',
    current: { lastRef: 1_767_225_600_001 },
    condition: { kind: 'lessThan', attr: 'lastRef', value: 1_767_225_600_001 },
    holds: false,
  },
  { name: 'lessThan, missing attribute', current: { other: 1 }, condition: { kind: 'lessThan', attr: 'lastRef', value: 5 }, holds: true },
  { name: 'lessThan, missing item', current: undefined, condition: { kind: 'lessThan', attr: 'lastRef', value: 5 }, holds: false },
];

type Write = 'put' | 'update' | 'delete';

const written: Record<Write, (before: Attributes | undefined) => Attributes | undefined> = {
  put: () => ({ written: 'put' }),
  update: (before) => ({ ...(before ?? {}), written: 'update' }),
  delete: () => undefined,
};

function write(table: Table, op: Write, pk: string, sk: string, condition: Condition): Promise<unknown> {
  switch (op) {
    case 'put':
      return table.put({ pk, sk, attrs: { written: 'put' } }, condition);
    case 'update':
      return table.update(pk, sk, { written: 'update' }, condition);
    case 'delete':
      return table.delete(pk, sk, condition);
  }
}

export function registerConditionTests(ctx: TableContext): void {
  describe('conditions', () => {
    for (const op of ['put', 'update', 'delete'] as const) {
      describe(op, () => {
        for (const c of cases) {
          it(`${c.name}: ${c.holds ? 'writes' : 'fails and changes nothing'}`, async () => {
            const pk = ctx.partition(`${op}-condition`);
            if (c.current) await ctx.table.put({ pk, sk: 'item', attrs: c.current });
            const attempt = write(ctx.table, op, pk, 'item', c.condition);
            if (c.holds) await attempt;
            else await expectConditionFailed(attempt, pk, 'item');
            const after = c.holds ? written[op](c.current) : c.current;
            const item = await ctx.table.get(pk, 'item');
            if (after === undefined) expect(item).toBeUndefined();
            else expectSameAttribute(item?.attrs, after);
            await ctx.table.delete(pk, 'item');
          });
        }
      });
    }

    it('a conditional put on an absent key succeeds once; the second fails and changes nothing', async () => {
      const pk = ctx.partition('put-absent');
      await ctx.table.put({ pk, sk: 'BLOB', attrs: { key: 'blobs/first', size: 1 } }, { kind: 'absent' });
      await expectConditionFailed(ctx.table.put({ pk, sk: 'BLOB', attrs: { key: 'blobs/second', size: 2 } }, { kind: 'absent' }), pk, 'BLOB');
      expectSameAttribute((await ctx.table.get(pk, 'BLOB'))?.attrs, { key: 'blobs/first', size: 1 });
      await ctx.table.delete(pk, 'BLOB');
    });

    it('a condition reads only its own item', async () => {
      const pk = ctx.partition('own-item');
      const other = ctx.partition('own-item-other');
      await ctx.table.put({ pk, sk: 'a', attrs: { v: 1 } });
      await ctx.table.put({ pk: other, sk: 'b', attrs: { v: 1 } });
      // Neighbours in the same partition, and the same sort key in another partition, are other items.
      await ctx.table.put({ pk, sk: 'b', attrs: { v: 2 } }, { kind: 'absent' });
      await ctx.table.put({ pk: other, sk: 'a', attrs: { v: 2 } }, { kind: 'absent' });
      await expectConditionFailed(ctx.table.update(pk, 'c', { v: 3 }, { kind: 'equals', attr: 'v', value: 1 }), pk, 'c');
      expect(await ctx.table.get(pk, 'c')).toBeUndefined();
      for (const [p, s] of [[pk, 'a'], [pk, 'b'], [other, 'a'], [other, 'b']] as const) await ctx.table.delete(p, s);
    });
  });
}
