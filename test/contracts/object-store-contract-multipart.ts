// Multipart uploads, as S3 keeps them: parts 1..10,000 in any upload order, a re-uploaded number
// replaces the earlier part, every part but the last at least `limits.minPartSize` (checked at
// completion), nothing visible before completion, abort idempotent. Every test aborts or
// completes what it starts, so no upload outlives it.
import { describe, expect, it } from 'vitest';
import type { CompletedPart } from '../../core/ports/object-store.ts';
import type { ObjectStoreContext } from './object-store-contract.ts';
import { bytes, chunked, content, expectBytes, expectStorageError } from './object-store-helpers.ts';

export function registerMultipartTests(ctx: ObjectStoreContext): void {
  const min = () => ctx.store.limits.minPartSize;

  /** Runs `work` on a fresh upload of `key`, aborting it afterwards whatever happened. */
  async function withUpload(key: string, work: (uploadId: string) => Promise<void>): Promise<void> {
    const uploadId = await ctx.store.createMultipart(key);
    try {
      await work(uploadId);
    } finally {
      await ctx.store.abortMultipart(key, uploadId);
    }
  }

  describe('multipart', () => {
    it('limits are S3-shaped', () => {
      const { minPartSize, maxPartSize, maxParts } = ctx.store.limits;
      expect(minPartSize).toBeGreaterThan(0);
      expect(maxPartSize).toBeGreaterThanOrEqual(minPartSize);
      expect(maxParts).toBe(10_000);
    });

    it('create, upload parts and complete in order assembles the bytes', async () => {
      const key = ctx.key('mp/assembled');
      const parts = [bytes(min()), bytes(min() + 1), bytes(17)];
      await withUpload(key, async (uploadId) => {
        const completed: CompletedPart[] = [];
        for (const [i, part] of parts.entries()) {
          const result = await ctx.store.uploadPart(key, uploadId, i + 1, part);
          expect(result.partNumber).toBe(i + 1);
          expect(typeof result.etag).toBe('string');
          completed.push(result);
        }
        const total = parts.reduce((n, p) => n + p.byteLength, 0);
        expect(await ctx.store.completeMultipart(key, uploadId, completed)).toEqual({ size: total });
      });
      expectBytes(await content(ctx.store, key), Buffer.concat(parts));
      expect((await ctx.store.head(key))?.size).toBe(Buffer.concat(parts).byteLength);
      expect((await ctx.store.list(ctx.key('mp/'))).keys).toEqual([key]);
      await ctx.store.delete(key);
    });

    it('parts may be streamed, uploaded in any order and concurrently, and skip numbers', async () => {
      const key = ctx.key('mp/unordered');
      const data = [bytes(min()), bytes(min()), bytes(min() + 100), bytes(1)];
      const numbers = [2, 3, 7, 9];
      await withUpload(key, async (uploadId) => {
        const uploads = [3, 0, 2, 1].map((i) => {
          const part = data[i] as Buffer;
          const body = chunked(part, [1000, 0, 333]);
          return ctx.store.uploadPart(key, uploadId, numbers[i] as number, body, i % 2 ? { size: part.byteLength } : undefined);
        });
        const completed = (await Promise.all(uploads)).sort((a, b) => a.partNumber - b.partNumber);
        expect(completed.map((p) => p.partNumber)).toEqual(numbers);
        await ctx.store.completeMultipart(key, uploadId, completed);
      });
      expectBytes(await content(ctx.store, key), Buffer.concat(data));
      await ctx.store.delete(key);
    });

    it('a single part of any size makes an object (the last part has no minimum)', async () => {
      const key = ctx.key('mp/single');
      const data = bytes(10);
      await withUpload(key, async (uploadId) => {
        const part = await ctx.store.uploadPart(key, uploadId, 1, data);
        expect(await ctx.store.completeMultipart(key, uploadId, [part])).toEqual({ size: 10 });
      });
      expectBytes(await content(ctx.store, key), data);
      await ctx.store.delete(key);
    });

    it('a re-uploaded part number replaces the earlier part', async () => {
      const key = ctx.key('mp/replaced');
      const first = bytes(min());
      const second = bytes(min() + 5);
      const last = bytes(3);
      await withUpload(key, async (uploadId) => {
        const stale = await ctx.store.uploadPart(key, uploadId, 1, first);
        const fresh = await ctx.store.uploadPart(key, uploadId, 1, second);
        const tail = await ctx.store.uploadPart(key, uploadId, 2, last);
        // The replaced part is gone: its etag no longer names a part.
        await expectStorageError(ctx.store.completeMultipart(key, uploadId, [stale, tail]), 'invalid-part');
        await ctx.store.completeMultipart(key, uploadId, [fresh, tail]);
      });
      expectBytes(await content(ctx.store, key), Buffer.concat([second, last]));
      await ctx.store.delete(key);
    });

    it('a part smaller than minPartSize but the last fails completion with part-too-small; the upload survives', async () => {
      const key = ctx.key('mp/small');
      const full = bytes(min());
      const last = bytes(10);
      await withUpload(key, async (uploadId) => {
        const small = await ctx.store.uploadPart(key, uploadId, 1, bytes(min() - 1));
        const tail = await ctx.store.uploadPart(key, uploadId, 2, last);
        await expectStorageError(ctx.store.completeMultipart(key, uploadId, [small, tail]), 'part-too-small');
        expect(await ctx.store.head(key)).toBeUndefined();
        // Refused, not spent: the part can be uploaded again and the upload completed.
        const replaced = await ctx.store.uploadPart(key, uploadId, 1, full);
        await ctx.store.completeMultipart(key, uploadId, [replaced, tail]);
      });
      expectBytes(await content(ctx.store, key), Buffer.concat([full, last]));
      await ctx.store.delete(key);
    });

    it('an unknown etag, an unknown part number or parts out of order fail completion with invalid-part', async () => {
      const key = ctx.key('mp/invalid');
      await withUpload(key, async (uploadId) => {
        // Every part is large enough, so that only the listed fault can refuse the completion.
        const one = await ctx.store.uploadPart(key, uploadId, 1, bytes(min()));
        const two = await ctx.store.uploadPart(key, uploadId, 2, bytes(min()));
        const three = await ctx.store.uploadPart(key, uploadId, 3, bytes(10));
        const faults: Array<[string, CompletedPart[]]> = [
          ['unknown etag', [one, { partNumber: 2, etag: 'e'.repeat(32) }, three]],
          ['etag of another part', [one, { partNumber: 2, etag: one.etag }, three]],
          ['unknown part number', [one, two, { ...three, partNumber: 4 }]],
          ['out of order', [two, one, three]],
          ['listed twice', [one, one, three]],
          ['no parts', []],
        ];
        for (const [fault, parts] of faults) {
          await expectStorageError(ctx.store.completeMultipart(key, uploadId, parts), 'invalid-part');
          expect(await ctx.store.head(key), fault).toBeUndefined();
        }
        // None of those spent the upload.
        await ctx.store.completeMultipart(key, uploadId, [one, two, three]);
        expect((await ctx.store.head(key))?.size).toBe(2 * min() + 10);
      });
      await ctx.store.delete(key);
    });

    it('a part number outside 1..maxParts is refused with invalid-part', async () => {
      const key = ctx.key('mp/numbers');
      await withUpload(key, async (uploadId) => {
        for (const n of [0, -1, ctx.store.limits.maxParts + 1, 1.5]) {
          await expectStorageError(ctx.store.uploadPart(key, uploadId, n, bytes(10)), 'invalid-part');
        }
      });
    });

    it('nothing is visible before completion, not even over an existing object, which completion replaces whole', async () => {
      const key = ctx.key('mp/invisible');
      const fresh = ctx.key('mp/invisible-new');
      const old = bytes(100);
      await ctx.store.put(key, old);
      await ctx.store.setTags(key, { digest: 'sha256:old' });
      await withUpload(fresh, async (freshId) => {
        await withUpload(key, async (uploadId) => {
          const a = await ctx.store.uploadPart(key, uploadId, 1, bytes(min()));
          const b = await ctx.store.uploadPart(key, uploadId, 2, bytes(min()));
          await ctx.store.uploadPart(fresh, freshId, 1, bytes(min()));
          expect(await ctx.store.head(fresh)).toBeUndefined();
          expect(await ctx.store.get(fresh)).toBeUndefined();
          expect(await ctx.store.head(key)).toEqual({ size: 100, tags: { digest: 'sha256:old' } });
          expectBytes(await content(ctx.store, key), old, 'the existing object');
          expect((await ctx.store.list(ctx.key('mp/'))).keys).toEqual([key]);
          const size = (await ctx.store.completeMultipart(key, uploadId, [a, b])).size;
          expect(size).toBe(2 * min());
          // The completed object replaces the old one whole, tags included (as on S3).
          const info = await ctx.store.head(key);
          expect(info?.size).toBe(2 * min());
          expect(info?.tags ?? {}).toEqual({});
        });
      });
      expect((await ctx.store.list(ctx.key('mp/'))).keys).toEqual([key]);
      await ctx.store.delete(key);
    });

    it('abort discards the parts; the upload is gone; abort is idempotent', async () => {
      const key = ctx.key('mp/aborted');
      const uploadId = await ctx.store.createMultipart(key);
      const part = await ctx.store.uploadPart(key, uploadId, 1, bytes(100));
      await ctx.store.abortMultipart(key, uploadId);
      await expectStorageError(ctx.store.completeMultipart(key, uploadId, [part]), 'no-such-upload');
      await expectStorageError(ctx.store.uploadPart(key, uploadId, 2, bytes(10)), 'no-such-upload');
      await ctx.store.abortMultipart(key, uploadId);
      await ctx.store.abortMultipart(key, uploadId);
      expect(await ctx.store.head(key)).toBeUndefined();
    });

    it('an upload belongs to its key', async () => {
      const key = ctx.key('mp/owner');
      const stranger = ctx.key('mp/stranger');
      await withUpload(key, async (uploadId) => {
        const part = await ctx.store.uploadPart(key, uploadId, 1, bytes(10));
        await expectStorageError(ctx.store.uploadPart(stranger, uploadId, 2, bytes(10)), 'no-such-upload');
        await expectStorageError(ctx.store.completeMultipart(stranger, uploadId, [part]), 'no-such-upload');
        expect(await ctx.store.head(stranger)).toBeUndefined();
      });
    });

    it('two uploads of one key are independent', async () => {
      const key = ctx.key('mp/twice');
      const kept = bytes(50);
      const first = await ctx.store.createMultipart(key);
      const second = await ctx.store.createMultipart(key);
      expect(second).not.toBe(first);
      try {
        await ctx.store.uploadPart(key, first, 1, bytes(40));
        const part = await ctx.store.uploadPart(key, second, 1, kept);
        await ctx.store.abortMultipart(key, first);
        await ctx.store.completeMultipart(key, second, [part]);
      } finally {
        await ctx.store.abortMultipart(key, first);
        await ctx.store.abortMultipart(key, second);
      }
      expectBytes(await content(ctx.store, key), kept);
      await ctx.store.delete(key);
    });
  });
}
