/**
 * A server-side copy above CopyObject's 5 GiB: a multipart upload of UploadPartCopy ranges (sizes
 * of `partTarget`, or fixed in tests), a few in flight at once, completed in part order, aborted
 * if any fails. S3 moves the bytes; nothing passes through this process.
 */
import { CompleteMultipartUploadCommand, HeadObjectCommand, UploadPartCopyCommand, type S3Client } from '@aws-sdk/client-s3';
import { StorageError, type MultipartLimits, type ObjectLocation } from '../../ports/object-store.ts';
import { partTarget } from './parts.ts';

/** Part copies in flight at once: each is one server-side request, the bytes never come here. */
const COPY_CONCURRENCY = 4;

export interface CopyTarget {
  client: S3Client;
  bucket: string;
  limits: MultipartLimits;
  partSize: number | undefined;
  create(key: string): Promise<string>;
  abort(key: string, uploadId: string): Promise<void>;
}

export async function copyInParts(s3: CopyTarget, source: ObjectLocation, CopySource: string, key: string, size: number): Promise<number> {
  // Ranges of a larger source would copy a prefix of it: learn its size first (the client
  // follows the source bucket's region when it is another one: `followRegionRedirects`).
  const held = (await s3.client.send(new HeadObjectCommand({ Bucket: source.bucket, Key: source.key }))).ContentLength;
  if (held !== size) throw new StorageError(`${source.bucket}/${source.key} holds ${held} bytes, ${size} expected`, 'invalid-part');
  const ranges: Array<{ PartNumber: number; start: number; end: number }> = [];
  for (let start = 0, n = 1; start < size; n++) {
    if (n > s3.limits.maxParts) throw new StorageError(`a copy of ${size} bytes needs over ${s3.limits.maxParts} parts`, 'invalid-part');
    const length = Math.min(s3.partSize ?? partTarget(n, s3.limits), size - start);
    ranges.push({ PartNumber: n, start, end: start + length - 1 });
    start += length;
  }
  const uploadId = await s3.create(key);
  try {
    const done: Array<{ PartNumber: number; ETag: string }> = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ranges.length) {
        const { PartNumber, start, end } = ranges[next++] as (typeof ranges)[number];
        const out = await s3.client.send(
          new UploadPartCopyCommand({ Bucket: s3.bucket, Key: key, UploadId: uploadId, PartNumber, CopySource, CopySourceRange: `bytes=${start}-${end}` }),
        );
        const ETag = out.CopyPartResult?.ETag;
        if (!ETag) throw new Error(`S3 returned no ETag for copied part ${PartNumber} of ${key}`);
        done.push({ PartNumber, ETag });
      }
    };
    await Promise.all(Array.from({ length: Math.min(COPY_CONCURRENCY, ranges.length) }, worker));
    done.sort((a, b) => a.PartNumber - b.PartNumber);
    await s3.client.send(new CompleteMultipartUploadCommand({ Bucket: s3.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: done } }));
    return ranges.length;
  } catch (error) {
    await s3.abort(key, uploadId).catch(() => undefined);
    throw error;
  }
}
