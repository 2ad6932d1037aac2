// Range queries: one partition, ascending by the UTF-8 bytes of the sort key (DynamoDB's order),
// filtered by prefix, paged by (limit, after); and the maintenance scan over partition keys.
import { describe, expect, it } from 'vitest';
import type { QueryOptions, Table } from '../../core/ports/table.ts';
import type { TableContext } from './table-contract.ts';
import { expectSameAttribute } from './table-expectations.ts';

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function shuffled<T>(values: readonly T[]): T[] {
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

async function putAll(table: Table, pk: string, sks: readonly string[]): Promise<void> {
  for (const sk of shuffled(sks)) await table.put({ pk, sk, attrs: { sk } });
}

async function deleteAll(table: Table, pk: string, sks: readonly string[]): Promise<void> {
  for (const sk of sks) await table.delete(pk, sk);
}

/**
 * Follows `next` to the end, checking each page: at most `limit` items, `next` (when present) is
 * the last sort key of its page, and the last page has no `next`.
 */
async function queryAll(table: Table, pk: string, options: QueryOptions): Promise<{ sks: string[]; pages: number }> {
  const sks: string[] = [];
  let after = options.after;
  let pages = 0;
  for (;;) {
    const page = await table.query(pk, { ...options, after });
    pages += 1;
    if (options.limit !== undefined) expect(page.items.length).toBeLessThanOrEqual(options.limit);
    for (const item of page.items) {
      expect(item.pk).toBe(pk);
      expectSameAttribute(item.attrs, { sk: item.sk });
      sks.push(item.sk);
    }
    if (page.next === undefined) return { sks, pages };
    expect(page.next, '`next` is the last sort key of its page').toBe(page.items[page.items.length - 1]?.sk);
    after = page.next;
    expect(pages, 'paging must end').toBeLessThan(1000);
  }
}

// `%` and `_` too: a prefix is literal, whatever an adapter's query language makes of them.
const tagKeys = ['TAG#a', 'TAG#a-b', 'TAG#ab', 'TAG#b', 'TAG#', 'TAG#a#', 'TAG#A', 'TAG#a0', 'TAG#a/b', 'TAG#aa', 'TAG#a%', 'TAG#a_b', 'TAG#a%b'];
const otherKeys = ['LINK#sha256:1', 'MANIFEST#sha256:2', 'TAF#z', 'TAH#a', 'TAG', 'Z'];
// UTF-16 order and UTF-8 order disagree between U+E000–U+FFFF and the astral planes: the table
// must sort by bytes, as DynamoDB does.
const unicodeKeys = ['U#a', 'U#z', 'U#é', 'U#中', 'U#\uff01', 'U#😀', 'U#\u{10ffff}', 'U#~'];

export function registerQueryTests(ctx: TableContext): void {
  describe('query', () => {
    it('an empty partition gives no items and no next', async () => {
      const page = await ctx.table.query(ctx.partition('empty'));
      expect(page.items).toEqual([]);
      expect(page.next).toBeUndefined();
    });

    it('returns a partition in ascending byte order of sort keys, prefixes sharing a stem included', async () => {
      const pk = ctx.partition('order');
      const all = [...tagKeys, ...otherKeys];
      await putAll(ctx.table, pk, all);
      const page = await ctx.table.query(pk);
      expect(page.items.map((i) => i.sk)).toEqual([...all].sort(byteOrder));
      expect(page.next).toBeUndefined();
      expect(page.items.filter((i) => i.sk.startsWith('TAG#a')).map((i) => i.sk)).toEqual([
        'TAG#a', 'TAG#a#', 'TAG#a%', 'TAG#a%b', 'TAG#a-b', 'TAG#a/b', 'TAG#a0', 'TAG#a_b', 'TAG#aa', 'TAG#ab',
      ]);
      await deleteAll(ctx.table, pk, all);
    });

    it('orders non-ASCII sort keys by their UTF-8 bytes', async () => {
      const pk = ctx.partition('unicode');
      await putAll(ctx.table, pk, unicodeKeys);
      const page = await ctx.table.query(pk);
      expect(page.items.map((i) => i.sk)).toEqual(['U#a', 'U#z', 'U#~', 'U#é', 'U#中', 'U#\uff01', 'U#😀', 'U#\u{10ffff}']);
      await deleteAll(ctx.table, pk, unicodeKeys);
    });

    it('filters by sort-key prefix', async () => {
      const pk = ctx.partition('prefix');
      const all = [...tagKeys, ...otherKeys];
      await putAll(ctx.table, pk, all);
      for (const prefix of ['TAG#a', 'TAG#', 'TAG#a-', 'TAG#ab', 'TA', 'T', 'NOPE', 'TAG#b', 'Z', '', 'TAG#a%', 'TAG#a_', 'TAG#%', 'TAG#_']) {
        const { sks } = await queryAll(ctx.table, pk, { prefix });
        expect(sks, `prefix ${JSON.stringify(prefix)}`).toEqual(all.filter((k) => k.startsWith(prefix)).sort(byteOrder));
      }
      await deleteAll(ctx.table, pk, all);
    });

    it('filters by a prefix ending in any character', async () => {
      const pk = ctx.partition('prefix-unicode');
      const stems = ['é', '中', '\uffff', '😀', '👍🏿', '\u{10ffff}', '~', '\u007f'];
      const all = stems.flatMap((s) => [`P#${s}`, `P#${s}a`, `P#${s}${s}`]);
      const extra = ['P#', 'P#ê', 'P#\u{10000}', 'P#👍', 'P#😁', 'Q#'];
      await putAll(ctx.table, pk, [...all, ...extra]);
      for (const stem of stems) {
        const prefix = `P#${stem}`;
        const { sks } = await queryAll(ctx.table, pk, { prefix });
        expect(sks, `prefix ${JSON.stringify(prefix)}`).toEqual([...all, ...extra].filter((k) => k.startsWith(prefix)).sort(byteOrder));
      }
      await deleteAll(ctx.table, pk, [...all, ...extra]);
    });

    it('pages with (limit, after): every item exactly once, in order, next only while more may follow', async () => {
      const pk = ctx.partition('paging');
      const all = Array.from({ length: 25 }, (_, i) => `ITEM#${String(i).padStart(3, '0')}`);
      await putAll(ctx.table, pk, all);
      for (const limit of [1, 2, 7, 24, 25, 26, 1000]) {
        const { sks, pages } = await queryAll(ctx.table, pk, { limit });
        expect(sks, `limit ${limit}`).toEqual(all);
        // A page may end exactly at the last item and still carry next; at most one empty page follows.
        expect(pages).toBeLessThanOrEqual(Math.ceil(25 / limit) + 1);
      }
      const first = await ctx.table.query(pk, { limit: 10 });
      expect(first.items.map((i) => i.sk)).toEqual(all.slice(0, 10));
      expect(first.next).toBe('ITEM#009');
      await deleteAll(ctx.table, pk, all);
    });

    it('a partition larger than any page cap is read whole by following next', async () => {
      const pk = ctx.partition('big');
      const all = Array.from({ length: 1200 }, (_, i) => `ITEM#${String(i).padStart(5, '0')}`);
      await Promise.all(all.map((sk) => ctx.table.put({ pk, sk, attrs: { sk } })));
      expect((await queryAll(ctx.table, pk, {})).sks).toEqual(all);
      expect((await queryAll(ctx.table, pk, { prefix: 'ITEM#00', limit: 5000 })).sks).toEqual(all.filter((k) => k.startsWith('ITEM#00')));
      await Promise.all(all.map((sk) => ctx.table.delete(pk, sk)));
    });

    it('a page that reaches the end may carry next; the page after it is empty and final', async () => {
      const pk = ctx.partition('paging-exact');
      const all = ['A', 'B', 'C'];
      await putAll(ctx.table, pk, all);
      const page = await ctx.table.query(pk, { limit: 3 });
      expect(page.items.map((i) => i.sk)).toEqual(all);
      if (page.next !== undefined) {
        expect(page.next).toBe('C');
        const rest = await ctx.table.query(pk, { limit: 3, after: page.next });
        expect(rest.items).toEqual([]);
        expect(rest.next).toBeUndefined();
      }
      const short = await ctx.table.query(pk, { limit: 4 });
      expect(short.items.map((i) => i.sk)).toEqual(all);
      expect(short.next, 'a page shorter than its limit ends the partition').toBeUndefined();
      await deleteAll(ctx.table, pk, all);
    });

    it('after is an exclusive bound and combines with prefix and limit', async () => {
      const pk = ctx.partition('after');
      const all = [...tagKeys, ...otherKeys];
      await putAll(ctx.table, pk, all);
      const sorted = [...all].sort(byteOrder);
      const tags = sorted.filter((k) => k.startsWith('TAG#a'));
      for (const after of ['TAG#a', 'TAG#a-', 'TAG#a-b', 'TAG#ab', 'TAG#b', 'A', 'TAG#', 'zzz', 'MANIFEST#']) {
        const { sks } = await queryAll(ctx.table, pk, { after });
        expect(sks, `after ${after}`).toEqual(sorted.filter((k) => byteOrder(k, after) > 0));
        for (const limit of [1, 2, 100]) {
          const paged = await queryAll(ctx.table, pk, { prefix: 'TAG#a', after, limit });
          expect(paged.sks, `prefix TAG#a, after ${after}, limit ${limit}`).toEqual(tags.filter((k) => byteOrder(k, after) > 0));
        }
      }
      await deleteAll(ctx.table, pk, all);
    });

    it('partitions are isolated, even when one key is a prefix of another', async () => {
      const a = ctx.partition('REPO#a');
      const b = ctx.partition('REPO#a/b');
      const c = ctx.partition('REPO#a-');
      for (const pk of [a, b, c]) await ctx.table.put({ pk, sk: 'TAG#latest', attrs: { sk: 'TAG#latest' } });
      await ctx.table.put({ pk: b, sk: 'TAG#only-b', attrs: { sk: 'TAG#only-b' } });
      expect((await queryAll(ctx.table, a, {})).sks).toEqual(['TAG#latest']);
      expect((await queryAll(ctx.table, b, { prefix: 'TAG#' })).sks).toEqual(['TAG#latest', 'TAG#only-b']);
      expect(await ctx.table.get(a, 'TAG#only-b')).toBeUndefined();
      await ctx.table.delete(a, 'TAG#latest');
      expect(await ctx.table.get(b, 'TAG#latest')).toBeDefined();
      expect(await ctx.table.get(c, 'TAG#latest')).toBeDefined();
      await ctx.table.update(c, 'TAG#latest', { extra: 1 });
      expectSameAttribute((await ctx.table.get(b, 'TAG#latest'))?.attrs, { sk: 'TAG#latest' });
      await deleteAll(ctx.table, b, ['TAG#latest', 'TAG#only-b']);
      await ctx.table.delete(c, 'TAG#latest');
    });
  });

  describe('scanPartitions', () => {
    it('pages every partition key under a prefix exactly once', async (test) => {
      const table = ctx.table;
      if (!table.scanPartitions) test.skip('this adapter has no scanPartitions');
      const scan = table.scanPartitions!.bind(table);
      const wanted = ['P#a', 'P#a-b', 'P#ab', 'P#b', 'P#a/c', 'P#é'].map((l) => ctx.partition(l));
      const unwanted = ['Q#a', 'P', 'O#P#a'].map((l) => ctx.partition(l));
      for (const pk of [...wanted, ...unwanted]) {
        for (const sk of ['x', 'y', 'z']) await table.put({ pk, sk, attrs: { sk } });
      }
      const prefix = `${ctx.scope}P#`;
      for (const limit of [1, 2, 5, 100, undefined]) {
        const keys: string[] = [];
        let after: string | undefined;
        let pages = 0;
        do {
          const page = await scan(prefix, { ...(limit === undefined ? {} : { limit }), ...(after === undefined ? {} : { after }) });
          if (limit !== undefined) expect(page.keys.length).toBeLessThanOrEqual(limit);
          keys.push(...page.keys);
          after = page.next;
          pages += 1;
          expect(pages, 'paging must end').toBeLessThan(100);
        } while (after !== undefined);
        // Order is not promised (a DynamoDB scan is in hash order); each key comes once.
        expect([...keys].sort(), `limit ${limit}`).toEqual([...wanted].sort());
      }
      const none = await scan(`${ctx.scope}NOPE#`);
      expect(none.keys).toEqual([]);
      expect(none.next).toBeUndefined();
      for (const pk of [...wanted, ...unwanted]) await deleteAll(table, pk, ['x', 'y', 'z']);
      expect((await scan(ctx.scope)).keys).toEqual([]);
    });
  });
}
