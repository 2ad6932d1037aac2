/**
 * The contract every `ObjectStore` adapter keeps (filesystem; S3 on Ceph's RADOS Gateway): one
 * suite, run by calling `objectStoreContract(name, open)` with a factory that opens the adapter
 * and says how to fetch its signed URLs. The store is opened once per suite; each test writes
 * under keys of its own (`ctx.key()`), deletes what it wrote, and an afterEach fails the test if
 * `list('')` is not empty (removing the leftovers first, so one failure does not spread). Part
 * sizes derive from `store.limits.minPartSize`, so the S3 run uses real 5 MiB parts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../core/ports/object-store.ts';
import { registerMultipartTests } from './object-store-contract-multipart.ts';
import { registerSignedUrlTests } from './object-store-contract-signed.ts';
import { bytes, chunked, content, expectBytes, expectStorageError, failingBody, gatedBody, readAll, sleep } from './object-store-helpers.ts';

export interface OpenedObjectStore {
  store: ObjectStore;
  /** Fetches a URL from `signedGetUrl` (resolving it against the host that serves it). */
  fetchSigned(url: string, init?: RequestInit): Promise<Response>;
  cleanup(): Promise<void>;
}

export interface ObjectStoreContext {
  readonly store: ObjectStore;
  fetchSigned(url: string, init?: RequestInit): Promise<Response>;
  /** A key unique to the running test. */
  key(label: string): string;
}

/** Every case runs on every adapter: none is skipped for a gap of a test server. */
export function objectStoreContract(name: string, open: () => Promise<OpenedObjectStore>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let opened: OpenedObjectStore | undefined;
    const run = randomUUID().slice(0, 8);
    let testIndex = 0;

    const ctx: ObjectStoreContext = {
      get store() {
        if (!opened) throw new Error('store not opened');
        return opened.store;
      },
      fetchSigned(url, init) {
        if (!opened) throw new Error('store not opened');
        return opened.fetchSigned(url, init);
      },
      key: (label) => `contract-${run}/${testIndex}/${label}`,
    };

    beforeAll(async () => {
      opened = await open();
    });
    afterAll(async () => {
      await opened?.cleanup();
    });
    beforeEach(() => {
      testIndex += 1;
    });
    afterEach(async ({ task }) => {
      if (!opened) return;
      const leftovers = await removeLeftovers(opened.store);
      // A test that already failed stopped before its own clean-up: one report is enough.
      if (task.result?.state === 'fail') return;
      expect(leftovers, 'every test must delete what it wrote').toEqual([]);
    });

    registerObjectTests(ctx);
    registerSignedUrlTests(ctx);
    registerMultipartTests(ctx);
  });
}

async function removeLeftovers(store: ObjectStore): Promise<string[]> {
  const leftovers: string[] = [];
  let after: string | undefined;
  do {
    const page = await store.list('', after === undefined ? {} : { after });
    leftovers.push(...page.keys);
    after = page.next;
  } while (after !== undefined);
  for (const key of leftovers) await store.delete(key);
  return leftovers;
}

function registerObjectTests(ctx: ObjectStoreContext): void {
  describe('objects', () => {
    it('put, get and head of bytes', async () => {
      const key = ctx.key('bytes');
      const data = bytes(10_000);
      expect(await ctx.store.put(key, data)).toEqual({ size: 10_000 });
      expectBytes(await content(ctx.store, key), data);
      const info = await ctx.store.head(key);
      expect(info?.size).toBe(10_000);
      expect(info?.tags ?? {}).toEqual({});
      await ctx.store.delete(key);
    });

    it('put of an async-iterable body of many chunks, with and without its size', async () => {
      const data = bytes(300_000);
      const sizes = [1, 4096, 0, 65_536, 7, 1000, 0, 30_000];
      for (const [label, options] of [['unsized', undefined], ['sized', { size: data.byteLength }]] as const) {
        const key = ctx.key(label);
        expect(await ctx.store.put(key, chunked(data, sizes), options)).toEqual({ size: data.byteLength });
        expectBytes(await content(ctx.store, key), data, label);
        expect((await ctx.store.head(key))?.size).toBe(data.byteLength);
        await ctx.store.delete(key);
      }
    });

    it('put of a streamed body larger than a part', async () => {
      const key = ctx.key('large');
      const data = bytes(2 * ctx.store.limits.minPartSize + 123);
      expect(await ctx.store.put(key, chunked(data, [64 * 1024]))).toEqual({ size: data.byteLength });
      expectBytes(await content(ctx.store, key), data);
      await ctx.store.delete(key);
    });

    it('put of an empty object', async () => {
      for (const [label, body] of [['bytes', new Uint8Array(0)], ['stream', chunked(new Uint8Array(0), [1])]] as const) {
        const key = ctx.key(`empty-${label}`);
        expect(await ctx.store.put(key, body)).toEqual({ size: 0 });
        expect((await ctx.store.head(key))?.size).toBe(0);
        expectBytes(await content(ctx.store, key), new Uint8Array(0), label);
        expect((await ctx.store.list(ctx.key(''))).keys).toEqual([key]);
        await ctx.store.delete(key);
      }
    });

    it('get, ranged get and head of an absent key are undefined', async () => {
      const key = ctx.key('absent');
      expect(await ctx.store.get(key)).toBeUndefined();
      expect(await ctx.store.get(key, { start: 0, end: 0 })).toBeUndefined();
      expect(await ctx.store.head(key)).toBeUndefined();
    });

    it('ranged get returns the bytes from start to end inclusive', async () => {
      const key = ctx.key('ranged');
      const data = bytes(1000);
      await ctx.store.put(key, data);
      const ranges: Array<[number, number, Buffer]> = [
        [0, 0, data.subarray(0, 1)],
        [100, 199, data.subarray(100, 200)],
        [999, 999, data.subarray(999)],
        [0, 999, data],
        [1, 998, data.subarray(1, 999)],
        // As with HTTP ranges, an end past the object stops at its last byte.
        [990, 5000, data.subarray(990)],
      ];
      for (const [start, end, want] of ranges) {
        const stream = await ctx.store.get(key, { start, end });
        expectBytes(stream && (await readAll(stream)), want, `bytes ${start}-${end}`);
      }
      await ctx.store.delete(key);
    });

    it('an unsatisfiable range is a StorageError invalid-range', async () => {
      const key = ctx.key('bad-range');
      const empty = ctx.key('empty');
      await ctx.store.put(key, bytes(1000));
      await ctx.store.put(empty, new Uint8Array(0));
      for (const range of [{ start: 1000, end: 1000 }, { start: 1000, end: 2000 }, { start: 5, end: 4 }, { start: -1, end: 3 }]) {
        await expectStorageError(ctx.store.get(key, range), 'invalid-range');
      }
      await expectStorageError(ctx.store.get(empty, { start: 0, end: 0 }), 'invalid-range');
      await ctx.store.delete(key);
      await ctx.store.delete(empty);
    });

    it('a reader never sees a partial object: a key is absent until its put completes', async () => {
      const key = ctx.key('slow');
      const data = bytes(200_000);
      const gate = gatedBody(data.subarray(0, 100_000), data.subarray(100_000));
      const put = ctx.store.put(key, gate.body);
      await gate.reached;
      await sleep(100);
      expect(await ctx.store.head(key)).toBeUndefined();
      expect(await ctx.store.get(key)).toBeUndefined();
      expect((await ctx.store.list(ctx.key(''))).keys).toEqual([]);
      gate.release();
      expect(await put).toEqual({ size: data.byteLength });
      expectBytes(await content(ctx.store, key), data);
      await ctx.store.delete(key);
    });

    it('a reader never sees a partial object: an overwrite shows the old object whole until it completes', async () => {
      const key = ctx.key('overwrite');
      const before = bytes(150_000);
      const after = bytes(200_000);
      await ctx.store.put(key, before);
      const gate = gatedBody(after.subarray(0, 100_000), after.subarray(100_000));
      const put = ctx.store.put(key, gate.body);
      await gate.reached;
      await sleep(100);
      expect((await ctx.store.head(key))?.size).toBe(before.byteLength);
      expectBytes(await content(ctx.store, key), before, 'the old object');
      gate.release();
      await put;
      expect((await ctx.store.head(key))?.size).toBe(after.byteLength);
      expectBytes(await content(ctx.store, key), after, 'the new object');
      await ctx.store.delete(key);
    });

    it('a put whose body fails leaves nothing behind, and an earlier object intact', async () => {
      const fresh = ctx.key('failed-new');
      const existing = ctx.key('failed-overwrite');
      const old = bytes(5000);
      await ctx.store.put(existing, old);
      await expect(ctx.store.put(fresh, failingBody(bytes(50_000)))).rejects.toThrow();
      await expect(ctx.store.put(existing, failingBody(bytes(50_000)))).rejects.toThrow();
      expect(await ctx.store.head(fresh)).toBeUndefined();
      expectBytes(await content(ctx.store, existing), old);
      expect((await ctx.store.list(ctx.key(''))).keys).toEqual([existing]);
      await ctx.store.delete(existing);
    });

    it('concurrent puts of one key leave one of them, whole', async () => {
      const key = ctx.key('race');
      const bodies = Array.from({ length: 8 }, () => bytes(50_000));
      await Promise.all(bodies.map((body) => ctx.store.put(key, chunked(body, [4096]))));
      const stored = await content(ctx.store, key);
      expect(bodies.some((b) => stored?.equals(b)), 'the object is one of the bodies, whole').toBe(true);
      await ctx.store.delete(key);
    });

    it('delete removes the object and is idempotent', async () => {
      const key = ctx.key('delete');
      const other = ctx.key('delete-neighbour');
      await ctx.store.put(key, bytes(10));
      await ctx.store.put(other, bytes(10));
      await ctx.store.delete(key);
      expect(await ctx.store.head(key)).toBeUndefined();
      expect(await ctx.store.get(key)).toBeUndefined();
      await ctx.store.delete(key);
      await ctx.store.delete(ctx.key('never-written'));
      expect((await ctx.store.head(other))?.size).toBe(10);
      await ctx.store.delete(other);
    });

    it('setTags replaces the tag set, and head returns it', async () => {
      const key = ctx.key('tagged');
      const data = bytes(10);
      await ctx.store.put(key, data);
      const digest = `sha256:${'ab'.repeat(32)}`;
      await ctx.store.setTags(key, { digest, state: 'committed' });
      expect(await ctx.store.head(key)).toEqual({ size: 10, tags: { digest, state: 'committed' } });
      await ctx.store.setTags(key, { digest });
      expect((await ctx.store.head(key))?.tags).toEqual({ digest });
      expectBytes(await content(ctx.store, key), data, 'tagging leaves the bytes alone');
      await ctx.store.delete(key);
      expect(await ctx.store.head(key)).toBeUndefined();
    });

    it('setTags on an absent key fails and creates nothing', async () => {
      const key = ctx.key('tag-absent');
      await expect(ctx.store.setTags(key, { digest: 'sha256:00' })).rejects.toThrow();
      expect(await ctx.store.head(key)).toBeUndefined();
    });

    it('a put replaces the whole object, tags included', async () => {
      const key = ctx.key('retagged');
      await ctx.store.put(key, bytes(10));
      await ctx.store.setTags(key, { digest: 'sha256:old' });
      const data = bytes(20);
      await ctx.store.put(key, data);
      const info = await ctx.store.head(key);
      expect(info?.size).toBe(20);
      expect(info?.tags ?? {}).toEqual({});
      await ctx.store.delete(key);
      // A key written again after a delete starts without the tags of its predecessor.
      await ctx.store.put(key, bytes(10));
      await ctx.store.setTags(key, { digest: 'sha256:first' });
      await ctx.store.delete(key);
      await ctx.store.put(key, bytes(10));
      expect((await ctx.store.head(key))?.tags ?? {}).toEqual({});
      await ctx.store.delete(key);
    });

    it('list pages keys under a prefix in ascending byte order', async () => {
      const labels = ['a-b', 'a.c', 'a/x', 'a/y/z', 'a0', 'b', 'ab', 'A', 'a_'];
      const keys = labels.map((l) => ctx.key(`list/${l}`));
      for (const key of keys) await ctx.store.put(key, bytes(1));
      const sorted = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      for (const [prefix, limit] of [
        [ctx.key('list/'), undefined],
        [ctx.key('list/'), 1],
        [ctx.key('list/'), 4],
        [ctx.key('list/a'), 2],
        [ctx.key('list/a/'), 1],
        [ctx.key('list/a/y/z'), 5],
        [ctx.key('list/c'), 3],
        ['', 3],
      ] as const) {
        const listed: string[] = [];
        let after: string | undefined;
        let pages = 0;
        do {
          const page = await ctx.store.list(prefix, { ...(limit === undefined ? {} : { limit }), ...(after === undefined ? {} : { after }) });
          if (limit !== undefined) expect(page.keys.length).toBeLessThanOrEqual(limit);
          listed.push(...page.keys);
          if (page.next !== undefined) expect(page.next, '`next` is the last key of its page').toBe(page.keys[page.keys.length - 1]);
          after = page.next;
          pages += 1;
          expect(pages, 'paging must end').toBeLessThan(100);
        } while (after !== undefined);
        expect(listed, `prefix ${prefix}, limit ${limit}`).toEqual(sorted.filter((k) => k.startsWith(prefix)));
      }
      const tail = await ctx.store.list(ctx.key('list/'), { after: ctx.key('list/a0') });
      expect(tail.keys).toEqual(sorted.filter((k) => k > ctx.key('list/a0')));
      for (const key of keys) await ctx.store.delete(key);
    });
  });
}
