// The object-store contract against the S3 adapter, on s3rver (started once for this file) with a
// bucket of its own, removed at the end. Parts are S3's real 5 MiB. Signed URLs are fetched
// straight from s3rver, as a client follows the registry's redirect to S3. A few checks of the
// adapter's own promises follow the contract.
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { CreateBucketCommand, DeleteBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../core/storage/s3/s3-object-store.ts';
import { startS3rver, type LocalS3 } from '../support/aws-local.ts';
import { cleanUp, makeTempDir, removeTree } from '../support/tmp.ts';
import { objectStoreContract } from './object-store-contract.ts';
import { bytes, chunked, content, expectBytes, failingBody } from './object-store-helpers.ts';

/** What s3rver 3.7 does not do as S3 does; each case runs against real S3 only. */
const s3rverGaps = {
  'a put replaces the whole object, tags included':
    "s3rver keeps an object's tags (tagging.xml) across a PUT and even a DELETE of its key, where S3 resets them",
  'list pages keys under a prefix in ascending byte order':
    's3rver lists in directory-walk order ("a/x" before "a-b"), not in the byte order S3 uses',
  'a Range header returns 206 with the slice':
    's3rver serves Range bytes=0-0 as the whole object and misreads suffix ranges (bytes=-10); the URL goes to s3rver directly',
  'a tampered signature is refused': 's3rver does not verify SigV4 signatures (only the access key id and the expiry)',
  'a URL for another key cannot be made by editing the path': 's3rver does not verify SigV4 signatures (only the access key id and the expiry)',
  'a re-uploaded part number replaces the earlier part':
    "s3rver does not check part ETags at completion, so the replaced part's ETag is accepted (S3 answers InvalidPart)",
  'nothing is visible before completion, not even over an existing object, which completion replaces whole':
    "s3rver keeps the old object's tags when a multipart completion replaces it, where S3 resets them",
  'abort discards the parts; the upload is gone; abort is idempotent': 's3rver has no AbortMultipartUpload (405 MethodNotAllowed)',
  'an upload belongs to its key': 's3rver ignores the key of UploadPart and CompleteMultipartUpload, using only the upload id',
};

interface Opened {
  server: LocalS3;
  client: S3Client;
  bucket: string;
  store: S3ObjectStore;
  cleanup(): Promise<void>;
}

/** s3rver, a bucket and a store spooling into a temp dir that must be empty at the end. */
async function openStore(): Promise<Opened> {
  const server = await startS3rver();
  const client = server.client();
  const bucket = `cirrus-contract-${randomUUID().slice(0, 8)}`;
  const spoolDir = await makeTempDir('s3-spool');
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const store = withoutAbortOnS3rver(new S3ObjectStore({ client, bucket, spoolDir }));
    return {
      server,
      client,
      bucket,
      store,
      cleanup: () =>
        cleanUp(
          async () => {
            await client.send(new DeleteBucketCommand({ Bucket: bucket }));
            client.destroy();
          },
          async () => {
            const stray = await readdir(spoolDir);
            await removeTree(spoolDir);
            if (stray.length > 0) throw new Error(`spooled parts left behind: ${stray.join(', ')}`);
          },
        ).finally(() => server.stop()),
    };
  } catch (error) {
    client.destroy();
    await cleanUp(server.stop, () => removeTree(spoolDir));
    throw error;
  }
}

objectStoreContract(
  'S3ObjectStore on s3rver',
  async () => {
    const { store, cleanup } = await openStore();
    return { store, fetchSigned: (url, init) => fetch(url, init), cleanup };
  },
  { skip: s3rverGaps },
);

describe('S3ObjectStore on s3rver, beyond the contract', () => {
  let opened: Opened;
  beforeAll(async () => {
    opened = await openStore();
  });
  afterAll(async () => {
    await opened?.cleanup();
  });

  it('a signed URL carries no checksum parameters and the asked expiry', async () => {
    const url = new URL(await opened.store.signedGetUrl('any/key', { expiresInSeconds: 300 }));
    expect(url.origin).toBe(opened.server.endpoint);
    expect(url.pathname).toMatch(/\/any\/key$/);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
    const checksumParams = [...url.searchParams.keys()].filter((k) => /checksum/i.test(k));
    expect(checksumParams, 'no x-amz-checksum-* (an empty body checksum breaks the GET)').toEqual([]);
  });

  // A streamed request body that fails must abort the request: the SDK pipes bodies, and a pipe
  // does not pass errors on, so the request would otherwise wait forever. (S3 then stores nothing;
  // s3rver writes in place and keeps what it got, so this checks the failure, then cleans up.)
  it('a put or part whose body fails or differs from its declared size fails at once', { timeout: 10_000 }, async () => {
    const key = `sized/${randomUUID()}`;
    const data = bytes(10_000);
    for (const size of [data.byteLength - 1, data.byteLength + 1]) {
      await expect(opened.store.put(key, chunked(data, [4096]), { size })).rejects.toThrow(/declared/);
      await expect(opened.store.put(key, data, { size })).rejects.toThrow(/declared/);
    }
    await expect(opened.store.put(key, failingBody(bytes(50_000)), { size: 100_000 })).rejects.toThrow('the client went away');
    const uploadId = await opened.store.createMultipart(key);
    await expect(opened.store.uploadPart(key, uploadId, 1, data, { size: 5 })).rejects.toThrow(/declared/);
    await expect(opened.store.uploadPart(key, uploadId, 1, failingBody(bytes(50_000)), { size: 100_000 })).rejects.toThrow('the client went away');
    await expect(opened.store.uploadPart(key, uploadId, 1, failingBody(bytes(50_000)))).rejects.toThrow('the client went away');
    await opened.store.abortMultipart(key, uploadId);
    await opened.store.delete(key);
  });

  // The contract's listing case is skipped on s3rver (its order is not S3's); paging itself is
  // checked here on flat keys, where the orders agree. s3rver's continuation tokens need DES,
  // hence --openssl-legacy-provider in aws-local.ts.
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
});

/**
 * s3rver has no AbortMultipartUpload (it answers 405 MethodNotAllowed), and the contract aborts
 * every upload it starts as its clean-up. Here, and only here, that 405 is swallowed: the parts
 * stay in s3rver's temp directory, removed with it. The case about abort itself is skipped.
 */
function withoutAbortOnS3rver(store: S3ObjectStore): S3ObjectStore {
  const abort = store.abortMultipart.bind(store);
  store.abortMultipart = async (key, uploadId) => {
    await abort(key, uploadId).catch((error: unknown) => {
      if (!(error instanceof Error && error.name === 'MethodNotAllowed')) throw error;
    });
  };
  return store;
}
