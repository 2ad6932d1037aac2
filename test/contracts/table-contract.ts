/**
 * The contract every `Table` adapter keeps (SQLite here; DynamoDB against dynalite later): one
 * suite, run by calling `tableContract(name, open)` from a test file with a factory that opens the
 * adapter. The table is opened once per suite and shared by its tests, as a deployment shares one
 * table: each test works in partitions of its own (`ctx.partition()`), must delete what it wrote,
 * and an afterEach fails the test if any item is left behind (it removes the leftovers first, so
 * one failure does not spread). `cleanup` closes the adapter and removes whatever it opened.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConditionFailedError, type Attributes, type Table } from '../../core/ports/table.ts';
import { expectConditionFailed, expectSameAttribute } from './table-expectations.ts';
import { registerConditionTests } from './table-contract-conditions.ts';
import { registerQueryTests } from './table-contract-query.ts';

export interface OpenedTable {
  table: Table;
  cleanup(): Promise<void>;
}

export interface TableContext {
  readonly table: Table;
  /** A partition key unique to the running test (and tracked for the emptiness check). */
  partition(label: string): string;
  /** The prefix every partition of the running test starts with. */
  readonly scope: string;
}

export function tableContract(name: string, open: () => Promise<OpenedTable>): void {
  describe(`Table contract: ${name}`, () => {
    let opened: OpenedTable | undefined;
    const run = randomUUID().slice(0, 8);
    let testIndex = 0;
    let scope = '';
    const used = new Set<string>();

    const ctx: TableContext = {
      get table() {
        if (!opened) throw new Error('table not opened');
        return opened.table;
      },
      get scope() {
        return scope;
      },
      partition(label: string) {
        const pk = `${scope}${label}`;
        used.add(pk);
        return pk;
      },
    };

    beforeAll(async () => {
      opened = await open();
    });
    afterAll(async () => {
      await opened?.cleanup();
    });
    beforeEach(() => {
      testIndex += 1;
      scope = `contract-${run}-${testIndex}/`;
      used.clear();
    });
    afterEach(async ({ task }) => {
      if (!opened) return;
      const leftovers = await removeLeftovers(opened.table, used, scope);
      // A test that already failed stopped before its own clean-up: one report is enough.
      if (task.result?.state === 'fail') return;
      expect(leftovers, 'every test must leave the table empty').toEqual([]);
    });

    registerItemTests(ctx);
    registerConditionTests(ctx);
    registerQueryTests(ctx);
    registerConcurrencyTests(ctx);
  });
}

async function removeLeftovers(table: Table, partitions: Iterable<string>, scope: string): Promise<string[]> {
  const leftovers: string[] = [];
  const pks = new Set(partitions);
  if (table.scanPartitions) {
    let after: string | undefined;
    do {
      const page = await table.scanPartitions(scope, after === undefined ? {} : { after });
      for (const key of page.keys) pks.add(key);
      after = page.next;
    } while (after !== undefined);
  }
  for (const pk of pks) {
    let after: string | undefined;
    do {
      const page = await table.query(pk, after === undefined ? {} : { after });
      for (const item of page.items) {
        leftovers.push(`${item.pk} / ${item.sk}`);
        await table.delete(item.pk, item.sk);
      }
      after = page.next;
    } while (after !== undefined);
  }
  return leftovers;
}

/** Every attribute type the port names, with the awkward cases each store must carry. */
function everyAttributeType(): Attributes {
  const backing = new Uint8Array([9, 9, 9, 1, 2, 3, 4, 9, 9]);
  return {
    emptyString: '',
    string: 'plain',
    unicode: 'héllo 中文 😀 \u0000 nul',
    quoted: 'quotes " \' backslash \\ newline \n tab \t',
    jsonLooking: '{"$bytes":"AAAA"}',
    long: 'x'.repeat(20_000),
    zero: 0,
    integer: 42,
    negative: -17,
    maxSafe: Number.MAX_SAFE_INTEGER,
    minSafe: Number.MIN_SAFE_INTEGER,
    timestamp: 1_767_225_600_123,
    float: 0.1,
    negativeFloat: -2.5,
    tiny: 1e-9,
    avogadro: 6.02214076e23,
    yes: true,
    no: false,
    nothing: null,
    bytes: new Uint8Array([0, 1, 2, 127, 128, 255]),
    allBytes: new Uint8Array(Array.from({ length: 256 }, (_, i) => i)),
    buffer: Buffer.from('a Buffer instance'),
    emptyBytes: new Uint8Array(0),
    emptyBuffer: Buffer.alloc(0),
    view: backing.subarray(3, 7),
    emptyList: [],
    list: ['a', 1, true, null, ['nested'], { in: 'list' }, Buffer.from([7, 8])],
    emptyMap: {},
    map: {
      level1: { level2: { level3: [1, { deep: new Uint8Array([5]) }] } },
      'a.b': 'dotted key',
      'has space': 'spaced key',
      '#hash': 'hash key',
      ':colon': 'colon key',
      $bytes: 'a map key the codec must not mistake for bytes',
      $dollar: 'another $ key',
      constructor: 'not a function',
    },
    // Annotations arrive from clients as arbitrary JSON: a `$bytes` map is a plain map, too.
    annotations: { $bytes: 'AAAA' },
    protoKey: JSON.parse('{"__proto__": {"polluted": true}, "other": 1}') as Attributes,
  };
}

function registerItemTests(ctx: TableContext): void {
  describe('items', () => {
    it('get of an absent item is undefined', async () => {
      expect(await ctx.table.get(ctx.partition('absent'), 'nothing')).toBeUndefined();
    });

    it('put then get round-trips every attribute type', async () => {
      const pk = ctx.partition('types');
      const attrs = everyAttributeType();
      await ctx.table.put({ pk, sk: 'all', attrs });
      const item = await ctx.table.get(pk, 'all');
      expect(item?.pk).toBe(pk);
      expect(item?.sk).toBe('all');
      expectSameAttribute(item?.attrs, attrs);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      await ctx.table.delete(pk, 'all');
    });

    it('attribute names with punctuation round-trip through put and update', async () => {
      const pk = ctx.partition('names');
      const attrs: Attributes = { 'a.b': 1, 'a-b': 2, '#c': 3, ':d': 4, 'e f': 5, 'size': 6, 'status': 7 };
      await ctx.table.put({ pk, sk: 'x', attrs });
      const updated = await ctx.table.update(pk, 'x', { 'a.b': 10, '#c': undefined, ':new': 'n' });
      const expected = { 'a.b': 10, 'a-b': 2, ':d': 4, 'e f': 5, 'size': 6, 'status': 7, ':new': 'n' };
      expectSameAttribute(updated.attrs, expected);
      expectSameAttribute((await ctx.table.get(pk, 'x'))?.attrs, expected);
      await ctx.table.delete(pk, 'x');
    });

    it('put replaces the whole item', async () => {
      const pk = ctx.partition('replace');
      await ctx.table.put({ pk, sk: 'x', attrs: { a: 1, b: 'two', m: { y: 2 } } });
      await ctx.table.put({ pk, sk: 'x', attrs: { c: true } });
      expectSameAttribute((await ctx.table.get(pk, 'x'))?.attrs, { c: true });
      await ctx.table.put({ pk, sk: 'x', attrs: {} });
      expectSameAttribute((await ctx.table.get(pk, 'x'))?.attrs, {});
      await ctx.table.delete(pk, 'x');
    });

    it('put is idempotent', async () => {
      const pk = ctx.partition('idempotent');
      const item = { pk, sk: 'x', attrs: { digest: 'sha256:abc', size: 3 } };
      await ctx.table.put(item);
      await ctx.table.put(item);
      expectSameAttribute((await ctx.table.get(pk, 'x'))?.attrs, item.attrs);
      expect((await ctx.table.query(pk)).items).toHaveLength(1);
      await ctx.table.delete(pk, 'x');
    });

    it('a stored item does not change when the caller mutates what it put or got', async () => {
      const pk = ctx.partition('copies');
      const attrs: Attributes = { list: [1, 2], map: { a: 'x' }, bytes: new Uint8Array([1, 2, 3]) };
      await ctx.table.put({ pk, sk: 'x', attrs });
      (attrs.list as number[]).push(3);
      (attrs.map as Attributes).a = 'changed';
      (attrs.bytes as Uint8Array)[0] = 99;
      const got = await ctx.table.get(pk, 'x');
      const expected = { list: [1, 2], map: { a: 'x' }, bytes: new Uint8Array([1, 2, 3]) };
      expectSameAttribute(got?.attrs, expected);
      (got?.attrs.list as number[]).push(4);
      expectSameAttribute((await ctx.table.get(pk, 'x'))?.attrs, expected);
      await ctx.table.delete(pk, 'x');
    });

    it('update sets and removes attributes and returns the whole item', async () => {
      const pk = ctx.partition('update');
      await ctx.table.put({ pk, sk: 'x', attrs: { keep: 'k', drop: 'd', change: 1, m: { y: 2 } } });
      const updated = await ctx.table.update(pk, 'x', { drop: undefined, change: 2, added: new Uint8Array([1]), m: { z: 3 }, absentRemoved: undefined });
      const expected = { keep: 'k', change: 2, added: new Uint8Array([1]), m: { z: 3 } };
      expect(updated.pk).toBe(pk);
      expect(updated.sk).toBe('x');
      expectSameAttribute(updated.attrs, expected);
      expectSameAttribute((await ctx.table.get(pk, 'x'))?.attrs, expected);
      await ctx.table.delete(pk, 'x');
    });

    it('update creates an absent item when no condition forbids it', async () => {
      const pk = ctx.partition('upsert');
      const created = await ctx.table.update(pk, 'x', { a: 1, b: undefined });
      expectSameAttribute(created.attrs, { a: 1 });
      expectSameAttribute((await ctx.table.get(pk, 'x'))?.attrs, { a: 1 });
      await ctx.table.delete(pk, 'x');
    });

    it('update under a failing condition changes nothing, atomically', async () => {
      const pk = ctx.partition('update-atomic');
      const attrs = { a: 1, b: 2, version: 1 };
      await ctx.table.put({ pk, sk: 'x', attrs });
      await expectConditionFailed(ctx.table.update(pk, 'x', { a: 9, b: undefined, c: 3, version: 2 }, { kind: 'equals', attr: 'version', value: 0 }), pk, 'x');
      expectSameAttribute((await ctx.table.get(pk, 'x'))?.attrs, attrs);
      await expectConditionFailed(ctx.table.update(pk, 'y', { a: 1 }, { kind: 'exists' }), pk, 'y');
      expect(await ctx.table.get(pk, 'y')).toBeUndefined();
      await ctx.table.delete(pk, 'x');
    });

    it('delete removes the item and is idempotent', async () => {
      const pk = ctx.partition('delete');
      await ctx.table.put({ pk, sk: 'x', attrs: { a: 1 } });
      await ctx.table.put({ pk, sk: 'y', attrs: { a: 2 } });
      await ctx.table.delete(pk, 'x');
      expect(await ctx.table.get(pk, 'x')).toBeUndefined();
      await ctx.table.delete(pk, 'x');
      await ctx.table.delete(pk, 'never-written');
      expectSameAttribute((await ctx.table.get(pk, 'y'))?.attrs, { a: 2 });
      await ctx.table.delete(pk, 'y');
    });
  });
}

function registerConcurrencyTests(ctx: TableContext): void {
  describe('concurrency', () => {
    it('of 50 concurrent conditional puts on one absent key exactly one succeeds', async () => {
      const pk = ctx.partition('race-put');
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, writer) => ctx.table.put({ pk, sk: 'x', attrs: { writer } }, { kind: 'absent' })),
      );
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConditionFailedError);
      expect((await ctx.table.get(pk, 'x'))?.attrs.writer).toBe(winners[0]);
      await ctx.table.delete(pk, 'x');
    });

    it('of 50 concurrent updates conditioned on the version read beforehand exactly one wins', async () => {
      const pk = ctx.partition('race-update');
      await ctx.table.put({ pk, sk: 'x', attrs: { version: 7, writer: -1 } });
      const read = await ctx.table.get(pk, 'x');
      const version = read?.attrs.version as number;
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, writer) =>
          ctx.table.update(pk, 'x', { version: version + 1, writer }, { kind: 'equals', attr: 'version', value: version }),
        ),
      );
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConditionFailedError);
      expectSameAttribute((await ctx.table.get(pk, 'x'))?.attrs, { version: 8, writer: winners[0] as number });
      await ctx.table.delete(pk, 'x');
    });

    it('50 concurrent updates of different attributes of one item all land', async () => {
      const pk = ctx.partition('race-merge');
      await ctx.table.put({ pk, sk: 'x', attrs: { base: true } });
      await Promise.all(Array.from({ length: 50 }, (_, i) => ctx.table.update(pk, 'x', { [`a${i}`]: i })));
      const expected: Attributes = { base: true };
      for (let i = 0; i < 50; i++) expected[`a${i}`] = i;
      expectSameAttribute((await ctx.table.get(pk, 'x'))?.attrs, expected);
      await ctx.table.delete(pk, 'x');
    });
  });
}
