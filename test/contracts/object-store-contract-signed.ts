// Signed GET URLs: anyone holding one may GET (with Range) the object it names until it expires;
// nobody can stretch one to another key, another expiry or a forged signature.
import { describe, expect, it } from 'vitest';
import type { ObjectStoreContext } from './object-store-contract.ts';
import { bytes, editUrl, expectBytes, sleep, tamperSignature } from './object-store-helpers.ts';

async function body(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

export function registerSignedUrlTests(ctx: ObjectStoreContext): void {
  describe('signed URLs', () => {
    it('GET returns the object', async () => {
      const key = ctx.key('signed/whole');
      const data = bytes(100_000);
      await ctx.store.put(key, data);
      const response = await ctx.fetchSigned(await ctx.store.signedGetUrl(key, { expiresInSeconds: 60 }));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe(String(data.byteLength));
      expectBytes(await body(response), data);
      await ctx.store.delete(key);
    });

    it('GET of an empty object returns no bytes', async () => {
      const key = ctx.key('signed/empty');
      await ctx.store.put(key, new Uint8Array(0));
      const response = await ctx.fetchSigned(await ctx.store.signedGetUrl(key, { expiresInSeconds: 60 }));
      expect(response.status).toBe(200);
      expect((await body(response)).byteLength).toBe(0);
      await ctx.store.delete(key);
    });

    it('a Range header returns 206 with the slice', async () => {
      const key = ctx.key('signed/ranged');
      const data = bytes(10_000);
      await ctx.store.put(key, data);
      const url = await ctx.store.signedGetUrl(key, { expiresInSeconds: 60 });
      const cases: Array<[string, number, number]> = [
        ['bytes=0-0', 0, 0],
        ['bytes=100-4099', 100, 4099],
        ['bytes=9999-9999', 9999, 9999],
        ['bytes=5000-', 5000, 9999],
        ['bytes=-10', 9990, 9999],
        ['bytes=9000-20000', 9000, 9999],
      ];
      for (const [range, start, end] of cases) {
        const response = await ctx.fetchSigned(url, { headers: { Range: range } });
        expect(response.status, range).toBe(206);
        expect(response.headers.get('content-range'), range).toBe(`bytes ${start}-${end}/${data.byteLength}`);
        expectBytes(await body(response), data.subarray(start, end + 1), range);
      }
      // Two reads of one URL: it is not spent by use.
      const again = await ctx.fetchSigned(url);
      expect(again.status).toBe(200);
      expectBytes(await body(again), data);
      await ctx.store.delete(key);
    });

    it('a tampered signature is refused', async () => {
      const key = ctx.key('signed/tampered');
      await ctx.store.put(key, bytes(100));
      const response = await ctx.fetchSigned(tamperSignature(await ctx.store.signedGetUrl(key, { expiresInSeconds: 60 })));
      expect(response.status).toBe(403);
      await response.arrayBuffer();
      await ctx.store.delete(key);
    });

    it('a URL for another key cannot be made by editing the path', async () => {
      const signed = ctx.key('signed/one');
      const other = ctx.key('signed/two');
      const secret = bytes(100);
      await ctx.store.put(signed, bytes(100));
      await ctx.store.put(other, secret);
      const url = await ctx.store.signedGetUrl(signed, { expiresInSeconds: 60 });
      for (const edit of [
        (u: URL) => (u.pathname = u.pathname.replace(/one$/, 'two')),
        (u: URL) => (u.pathname = u.pathname.replace(/one$/, 'one/../two')),
        (u: URL) => (u.pathname = u.pathname.replace(/signed\/one$/, 'signed%2Ftwo')),
      ]) {
        const forged = editUrl(url, edit);
        expect(forged).not.toBe(url);
        const response = await ctx.fetchSigned(forged);
        const got = await body(response);
        expect(got.equals(secret), `${forged} must not serve the other object`).toBe(false);
        expect(response.status, forged).toBeGreaterThanOrEqual(400);
      }
      const plain = await ctx.fetchSigned(editUrl(url, (u) => (u.pathname = u.pathname.replace(/one$/, 'two'))));
      expect(plain.status).toBe(403);
      await plain.arrayBuffer();
      await ctx.store.delete(signed);
      await ctx.store.delete(other);
    });

    it('an expired URL is refused', async () => {
      const key = ctx.key('signed/expired');
      await ctx.store.put(key, bytes(100));
      const url = await ctx.store.signedGetUrl(key, { expiresInSeconds: 1 });
      // Expiry is counted in whole seconds on either side: wait past any rounding.
      await sleep(2500);
      const response = await ctx.fetchSigned(url);
      expect(response.status).toBe(403);
      await response.arrayBuffer();
      await ctx.store.delete(key);
    });
  });
}
