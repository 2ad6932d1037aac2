// The object-store contract against the S3 adapter, on the run's Ceph RGW (aws-rgw project) with a
// bucket of its own, removed at the end: every case, none skipped. Parts are S3's real 5 MiB (the
// adapter's minimum; RGW's own is lowered to 1 KiB for the HTTP suites, see aws-rgw-setup.ts).
// Signed URLs are fetched straight from RGW, as a client follows the registry's redirect to S3. A
// few checks of the adapter's own promises follow the contract.
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { CreateBucketCommand, DeleteBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../core/storage/s3/s3-object-store.ts';
import { awsServers, rgwS3Client } from '../support/aws-servers.ts';
import { pendingUploads } from '../support/test-stores.ts';
import { cleanUp, makeTempDir, removeTree } from '../support/tmp.ts';
import { objectStoreContract } from './object-store-contract.ts';
import { bytes, chunked, content, expectBytes, failingBody } from './object-store-helpers.ts';

interface Opened {
  endpoint: string;
  client: S3Client;
  bucket: string;
  store: S3ObjectStore;
  cleanup(): Promise<void>;
}

/**
 * A bucket on RGW and a store spooling into a temp dir; at the end the bucket must hold no
 * pending multipart upload (every one completed or aborted) and the spool dir no file.
 */
async function openStore(): Promise<Opened> {
  const client = rgwS3Client();
  const bucket = `cirrus-contract-${randomUUID().slice(0, 8)}`;
  const spoolDir = await makeTempDir('s3-spool');
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const store = new S3ObjectStore({ client, bucket, spoolDir });
    return {
      endpoint: awsServers().s3Endpoint,
      client,
      bucket,
      store,
      cleanup: () =>
        cleanUp(
          async () => {
            const pending = await pendingUploads(client, bucket);
            await client.send(new DeleteBucketCommand({ Bucket: bucket }));
            client.destroy();
            if (pending.length > 0) throw new Error(`multipart uploads left pending: ${pending.join(', ')}`);
          },
          async () => {
            const stray = await readdir(spoolDir);
            await removeTree(spoolDir);
            if (stray.length > 0) throw new Error(`spooled parts left behind: ${stray.join(', ')}`);
          },
        ),
    };
  } catch (error) {
    client.destroy();
    await removeTree(spoolDir);
    throw error;
  }
}

objectStoreContract('S3ObjectStore on Ceph RGW', async () => {
  const { store, cleanup } = await openStore();
  return { store, fetchSigned: (url, init) => fetch(url, init), cleanup };
});

describe('S3ObjectStore on Ceph RGW, beyond the contract', () => {
  let opened: Opened;
  beforeAll(async () => {
    opened = await openStore();
  });
  afterAll(async () => {
    await opened?.cleanup();
  });

  it('a signed URL carries no checksum parameters and the asked expiry', async () => {
    const url = new URL(await opened.store.signedGetUrl('any/key', { expiresInSeconds: 300 }));
    expect(url.origin).toBe(opened.endpoint);
    expect(url.pathname).toMatch(/\/any\/key$/);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
    const checksumParams = [...url.searchParams.keys()].filter((k) => /checksum/i.test(k));
    expect(checksumParams, 'no x-amz-checksum-* (an empty body checksum breaks the GET)').toEqual([]);
  });

  // A streamed request body that fails must abort the request: the SDK pipes bodies, and a pipe
  // does not pass errors on, so the request would otherwise wait forever. S3 (and RGW) then store
  // nothing: the key stays absent.
  it('a put or part whose body fails or differs from its declared size fails at once', { timeout: 10_000 }, async () => {
    const key = `sized/${randomUUID()}`;
    const data = bytes(10_000);
    for (const size of [data.byteLength - 1, data.byteLength + 1]) {
      await expect(opened.store.put(key, chunked(data, [4096]), { size })).rejects.toThrow(/declared/);
      await expect(opened.store.put(key, data, { size })).rejects.toThrow(/declared/);
    }
    await expect(opened.store.put(key, failingBody(bytes(50_000)), { size: 100_000 })).rejects.toThrow('the client went away');
    expect(await opened.store.head(key)).toBeUndefined();
    const uploadId = await opened.store.createMultipart(key);
    await expect(opened.store.uploadPart(key, uploadId, 1, data, { size: 5 })).rejects.toThrow(/declared/);
    await expect(opened.store.uploadPart(key, uploadId, 1, failingBody(bytes(50_000)), { size: 100_000 })).rejects.toThrow('the client went away');
    await expect(opened.store.uploadPart(key, uploadId, 1, failingBody(bytes(50_000)))).rejects.toThrow('the client went away');
    await opened.store.abortMultipart(key, uploadId);
    expect(await opened.store.head(key)).toBeUndefined();
  });

  // Paging at every limit around the page boundary, and `after` in the middle.
  it('list pages with limit and after on flat keys', async () => {
    const prefix = `flat-${randomUUID()}/`;
    const keys = Array.from({ length: 7 }, (_, i) => `${prefix}k${i}`);
    for (const key of keys) await opened.store.put(key, bytes(1));
    for (const limit of [1, 2, 3, 7, 8]) {
      const listed: string[] = [];
      let after: string | undefined;
      do {
        const page = await opened.store.list(prefix, { limit, ...(after === undefined ? {} : { after }) });
        expect(page.keys.length).toBeLessThanOrEqual(limit);
        listed.push(...page.keys);
        after = page.next;
      } while (after !== undefined);
      expect(listed, `limit ${limit}`).toEqual(keys);
    }
    expect((await opened.store.list(prefix, { after: `${prefix}k4` })).keys).toEqual(keys.slice(5));
    for (const key of keys) await opened.store.delete(key);
  });

  it('minPartSize (for tests on local servers) lowers the part minimum, which completion then enforces; 1..5 MiB only', async () => {
    const { client, bucket } = opened;
    expect(opened.store.limits.minPartSize).toBe(5 * 1024 * 1024);
    for (const minPartSize of [0, 1.5, 5 * 1024 * 1024 + 1]) {
      expect(() => new S3ObjectStore({ client, bucket, minPartSize }), String(minPartSize)).toThrow(RangeError);
    }
    const small = new S3ObjectStore({ client, bucket, minPartSize: 1024 });
    expect(small.limits).toEqual({ ...opened.store.limits, minPartSize: 1024 });
    const key = `small-parts/${randomUUID()}`;
    const uploadId = await small.createMultipart(key);
    const short = await small.uploadPart(key, uploadId, 1, bytes(1023));
    const last = await small.uploadPart(key, uploadId, 2, bytes(10));
    await expect(small.completeMultipart(key, uploadId, [short, last])).rejects.toMatchObject({ reason: 'part-too-small' });
    const enough = await small.uploadPart(key, uploadId, 1, bytes(1024));
    expect(await small.completeMultipart(key, uploadId, [enough, last])).toEqual({ size: 1034 });
    expect((await small.head(key))?.size).toBe(1034);
    await small.delete(key);
  });

  it('a put of unknown size over a part becomes a multipart upload of the whole body', async () => {
    // 8 MiB parts: this body takes three, the last one short.
    const key = `unsized/${randomUUID()}`;
    const data = bytes(2 * 8 * 1024 * 1024 + 1);
    expect(await opened.store.put(key, chunked(data, [1024 * 1024 - 1]))).toEqual({ size: data.byteLength });
    expectBytes(await content(opened.store, key), data);
    await opened.store.delete(key);
  });

  // Replication to another region: server-side copies from another bucket, one CopyObject, or
  // UploadPartCopy ranges above the (here lowered) single-copy limit; the commit's tags replace any that travelled.
  it('copyFrom copies another bucket\'s object server-side: CopyObject, or UploadPartCopy ranges above the limit', async () => {
    const other = await openStore();
    try {
      const data = bytes(3 * 1024 * 1024 + 17);
      const key = `blobs/${randomUUID()}`;
      await other.store.put(key, data);
      await other.store.setTags(key, { digest: 'sha256:source' });
      const source = { bucket: other.bucket, key };

      const single = `copies/${randomUUID()}`;
      expect(await opened.store.copyFrom(source, single, { size: data.byteLength })).toEqual({ size: data.byteLength, parts: 1 });
      expectBytes(await content(opened.store, single), data);
      await opened.store.setTags(single, { digest: 'sha256:copy' });
      expect((await opened.store.head(single))?.tags).toEqual({ digest: 'sha256:copy' });

      const { client, bucket } = opened;
      const parted = new S3ObjectStore({ client, bucket, maxSingleCopy: 1024 * 1024, copyPartSize: 1024 * 1024 });
      const multi = `copies/${randomUUID()}`;
      expect(await parted.copyFrom(source, multi, { size: data.byteLength })).toEqual({ size: data.byteLength, parts: 4 });
      expectBytes(await content(opened.store, multi), data);
      expect((await opened.store.head(multi))?.tags).toBeUndefined();
      await opened.store.setTags(multi, { digest: 'sha256:copy' });
      expect((await opened.store.head(multi))?.tags).toEqual({ digest: 'sha256:copy' });

      // A source of another size than expected: nothing stays at the target key.
      const wrong = `copies/${randomUUID()}`;
      await expect(opened.store.copyFrom(source, wrong, { size: data.byteLength + 1 })).rejects.toThrow(/expected/);
      await expect(parted.copyFrom(source, wrong, { size: data.byteLength - 1 })).rejects.toThrow(/expected/);
      expect(await opened.store.head(wrong)).toBeUndefined();
      await expect(opened.store.copyFrom({ bucket: other.bucket, key: 'missing' }, wrong, { size: 1 })).rejects.toThrow();

    } finally {
      for (const k of (await opened.store.list('copies/')).keys) await opened.store.delete(k);
      for (const k of (await other.store.list('')).keys) await other.store.delete(k);
      await other.cleanup();
    }
  });
});
