/**
 * `ObjectStore` on S3 (AWS SDK v3); the client comes from `createS3Client` (checksums only where
 * S3 requires them) and path-style or virtual-hosted addressing is the caller's choice.
 *
 * - A put of known size streams as one PutObject (length-checked); a put of unknown size reads
 *   up to one part into memory and, if the body goes on, becomes a multipart upload whose parts
 *   are spooled to a temp file one at a time: memory stays bounded whatever the size. Either
 *   way S3 shows the object only once it is whole.
 * - Multipart follows S3 and checks up front what S3 checks only at completion (and local servers
 *   not at all): part numbers 1..10,000, parts ascending, every part but the last at least 5 MiB
 *   (less only with the test-only `minPartSize` option). Without ListParts the part sizes travel
 *   in the ETags this adapter hands out (`<part>.<size>.<S3 ETag>`); callers store them
 *   opaquely, as the port asks.
 * - Only PutObject, GetObject, HeadObject, DeleteObject, Put/GetObjectTagging, ListObjectsV2 and
 *   the multipart calls are used, and for `copyFrom` (replication to another region) CopyObject and
 *   UploadPartCopy; ListParts only when a completion fails
 *   with a 500, to tell an unknown upload from a fault: Ceph's RGW answers a completion of an
 *   aborted upload, or of an upload under another key, with 500 InternalError ("This multipart
 *   completion is already in progress") where S3 answers NoSuchUpload.
 */
import { tmpdir } from 'node:os';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListPartsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  StorageError,
  type Body,
  type ByteRange,
  type CompletedPart,
  type MultipartLimits,
  type ObjectCopier,
  type ObjectInfo,
  type ObjectLocation,
  type ObjectStore,
} from '../../ports/object-store.ts';
import { ByteReader, exactBody, iterate, LengthMismatchError, spool } from './bodies.ts';
import { copyInParts } from './copy.ts';
import { decodePartTag, encodePartTag, partTarget } from './parts.ts';
import { S3_MIN_PART_SIZE, s3Limits } from './limits.ts';

const MiB = 1024 * 1024;
const MAX_LIST_PAGE = 1000;

export interface S3ObjectStoreOptions {
  client: S3Client;
  bucket: string;
  /** Where parts of unknown length are spooled (Lambda: /tmp). Defaults to the OS temp dir. */
  spoolDir?: string;
  /**
   * For tests on a local server only: a smaller minimum for every part but the last, so upload
   * tests stay small (s3rver does not check the minimum). Real S3 refuses parts under its 5 MiB
   * at completion (EntityTooSmall), so production code never sets it. Defaults to 5 MiB.
   */
  minPartSize?: number;
  /**
   * Server-side copies (`copyFrom`) above this many bytes go in UploadPartCopy ranges; at or below
   * it, one CopyObject. Defaults to S3's CopyObject limit, 5 GiB; tests lower it (with
   * `copyPartSize`) to run the multipart path on small objects.
   */
  maxSingleCopy?: number;
  /** Fixed size of UploadPartCopy ranges (tests); by default the growing sizes of `partTarget`. */
  copyPartSize?: number;
}

/** S3's largest object a single CopyObject copies. */
export const S3_MAX_SINGLE_COPY = 5 * 1024 * MiB;

export class S3ObjectStore implements ObjectStore, ObjectCopier {
  readonly limits: MultipartLimits;
  readonly bucket: string;
  private readonly client: S3Client;
  private readonly spoolDir: string;
  private readonly maxSingleCopy: number;
  private readonly copyPartSize: number | undefined;

  constructor(options: S3ObjectStoreOptions) {
    const minPartSize = options.minPartSize ?? S3_MIN_PART_SIZE;
    if (!Number.isSafeInteger(minPartSize) || minPartSize < 1 || minPartSize > S3_MIN_PART_SIZE) {
      throw new RangeError(`minPartSize must be an integer from 1 to ${S3_MIN_PART_SIZE}, not ${minPartSize}`);
    }
    this.limits = s3Limits(minPartSize);
    this.client = options.client;
    this.bucket = options.bucket;
    this.spoolDir = options.spoolDir ?? tmpdir();
    this.maxSingleCopy = Math.min(options.maxSingleCopy ?? S3_MAX_SINGLE_COPY, S3_MAX_SINGLE_COPY);
    this.copyPartSize = options.copyPartSize;
  }

  /**
   * Copies another bucket's object to `toKey` here, server-side: one CopyObject up to
   * `maxSingleCopy`, else a multipart upload of UploadPartCopy ranges (aborted if any fails).
   * CopyObject carries the source's tags along, a part copy none: the caller sets them on commit
   * (PutObjectTagging replaces the whole set), as it tags an upload. The copy's size is then
   * read here, in this bucket's region, and a copy of another size than expected is deleted and
   * refused: a source that is not what the caller indexed never gets indexed here.
   */
  async copyFrom(source: ObjectLocation, toKey: string, { size }: { size: number }): Promise<{ size: number; parts: number }> {
    const CopySource = `${source.bucket}/${source.key.split('/').map(encodeURIComponent).join('/')}`;
    let parts = 1;
    if (size <= this.maxSingleCopy) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: toKey, CopySource }));
    } else {
      parts = await copyInParts({
        client: this.client,
        bucket: this.bucket,
        limits: this.limits,
        partSize: this.copyPartSize,
        create: (key) => this.createMultipart(key),
        abort: (key, uploadId) => this.abortMultipart(key, uploadId),
      }, source, CopySource, toKey, size);
    }
    const copied = (await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: toKey }))).ContentLength ?? 0;
    if (copied !== size) {
      await this.delete(toKey);
      throw new StorageError(`copy of ${source.bucket}/${source.key} holds ${copied} bytes, ${size} expected`, 'invalid-part');
    }
    return { size, parts };
  }

  async put(key: string, body: Body, options: { size?: number } = {}): Promise<{ size: number }> {
    const size = options.size ?? (body instanceof Uint8Array ? body.byteLength : undefined);
    if (size !== undefined && size <= this.limits.maxPartSize) {
      await this.sendBody(exactBody(body, size), (Body, abortSignal) =>
        this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body, ContentLength: size }), { abortSignal }),
      );
      return { size };
    }
    const reader = new ByteReader(body);
    const head = await reader.read(this.limits.minPartSize);
    if (await reader.atEnd()) {
      if (size !== undefined && size !== head.byteLength) throw new LengthMismatchError(size, String(head.byteLength));
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: head, ContentLength: head.byteLength }));
      return { size: head.byteLength };
    }
    return this.putInParts(key, head, reader, size);
  }

  async get(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | undefined> {
    // S3 ignores a malformed Range header and sends the whole object: refuse those here.
    if (range && (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.start > range.end)) {
      throw new StorageError(`range ${range.start}-${range.end} is malformed`, 'invalid-range');
    }
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
      );
      const body = out.Body as AsyncIterable<Uint8Array> & { destroy?: () => void };
      return range ? servedRange(body, out.ContentRange, range, key) : body;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      if (errorCode(error) === 'InvalidRange' || httpStatus(error) === 416) {
        throw new StorageError(`range ${range?.start}-${range?.end} outside ${key}`, 'invalid-range');
      }
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const [info, tagging] = await Promise.all([
        this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })),
        this.client.send(new GetObjectTaggingCommand({ Bucket: this.bucket, Key: key })),
      ]);
      const tags = Object.fromEntries((tagging.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      const size = info.ContentLength ?? 0;
      return Object.keys(tags).length > 0 ? { size, tags } : { size };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    // S3 answers 204 for a missing key as well.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async setTags(key: string, tags: Record<string, string>): Promise<void> {
    try {
      await this.client.send(
        new PutObjectTaggingCommand({
          Bucket: this.bucket,
          Key: key,
          Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
        }),
      );
    } catch (error) {
      if (isNotFound(error)) throw new StorageError(`no object ${key}`, 'invalid-part');
      throw error;
    }
  }

  async signedGetUrl(key: string, { expiresInSeconds }: { expiresInSeconds: number }): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: expiresInSeconds });
  }

  async list(prefix: string, options: { limit?: number; after?: string } = {}): Promise<{ keys: string[]; next?: string }> {
    const limit = Math.min(Math.max(options.limit ?? MAX_LIST_PAGE, 1), MAX_LIST_PAGE);
    const out = await this.client.send(
      new ListObjectsV2Command({
        Bucket: this.bucket,
        ...(prefix !== '' ? { Prefix: prefix } : {}),
        ...(options.after !== undefined && options.after !== '' ? { StartAfter: options.after } : {}),
        MaxKeys: limit,
      }),
    );
    const keys = (out.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [o.Key]));
    const last = keys[keys.length - 1];
    return out.IsTruncated && last !== undefined ? { keys, next: last } : { keys };
  }

  async createMultipart(key: string): Promise<string> {
    const out = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }));
    if (!out.UploadId) throw new Error(`S3 returned no upload id for ${key}`);
    return out.UploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Body, options: { size?: number } = {}): Promise<CompletedPart> {
    this.checkPartNumber(partNumber);
    const size = options.size ?? (body instanceof Uint8Array ? body.byteLength : undefined);
    if (size !== undefined && size > this.limits.maxPartSize) {
      throw new StorageError(`part ${partNumber} of ${size} bytes exceeds ${this.limits.maxPartSize}`, 'invalid-part');
    }
    // S3 needs each part's length up front: spool a part of unknown length to learn it.
    const spooled = size === undefined ? await spool(iterate(body), this.spoolDir, this.limits.maxPartSize) : undefined;
    try {
      const length = spooled ? spooled.size : (size as number);
      const out = await this.sendBody(spooled ? spooled.open() : exactBody(body, length), (Body, abortSignal) =>
        this.client.send(
          new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body, ContentLength: length }),
          { abortSignal },
        ),
      ).catch(mapMultipartError(key, uploadId));
      if (!out.ETag) throw new Error(`S3 returned no ETag for part ${partNumber} of ${key}`);
      return { partNumber, etag: encodePartTag(partNumber, length, out.ETag) };
    } finally {
      await spooled?.remove();
    }
  }

  async completeMultipart(key: string, uploadId: string, parts: CompletedPart[]): Promise<{ size: number }> {
    if (parts.length === 0) throw new StorageError('a multipart upload needs at least one part', 'invalid-part');
    let size = 0;
    const listed = parts.map((part, i) => {
      this.checkPartNumber(part.partNumber);
      if (i > 0 && part.partNumber <= (parts[i - 1] as CompletedPart).partNumber) {
        throw new StorageError('parts must be listed in ascending order', 'invalid-part');
      }
      const tag = decodePartTag(part);
      if (i < parts.length - 1 && tag.size < this.limits.minPartSize) {
        throw new StorageError(`part ${part.partNumber} is smaller than ${this.limits.minPartSize} bytes`, 'part-too-small');
      }
      size += tag.size;
      return { PartNumber: part.partNumber, ETag: tag.etag };
    });
    await this.client
      .send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: listed } }))
      .catch(async (error: unknown) => {
        if (httpStatus(error) === 500 && !(await this.uploadExists(key, uploadId))) {
          throw new StorageError(`no multipart upload ${uploadId} for ${key}`, 'no-such-upload');
        }
        return mapMultipartError(key, uploadId)(error);
      });
    return { size };
  }

  /** False only when S3 says the upload is unknown under this key (RGW: NoSuchKey after an abort). */
  private async uploadExists(key: string, uploadId: string): Promise<boolean> {
    try {
      await this.client.send(new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MaxParts: 1 }));
      return true;
    } catch (error) {
      const code = errorCode(error);
      return !(code === 'NoSuchUpload' || code === 'NoSuchKey');
    }
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
    } catch (error) {
      if (errorCode(error) === 'NoSuchUpload') return;
      throw error;
    }
  }

  /** A body that went past one part: parts of growing size, each spooled unless its size is known. */
  private async putInParts(key: string, head: Buffer, reader: ByteReader, size: number | undefined): Promise<{ size: number }> {
    const uploadId = await this.createMultipart(key);
    try {
      const parts: CompletedPart[] = [];
      let written = 0;
      let carried: Buffer | undefined = head;
      for (let n = 1; n === 1 || !(await reader.atEnd()); n++) {
        if (n > this.limits.maxParts) throw new StorageError(`a body over ${this.limits.maxParts} parts is too large`, 'invalid-part');
        const target = partTarget(n, this.limits);
        const first = carried ?? Buffer.alloc(0);
        carried = undefined;
        const piece = concatBodies(first, reader.take(target - first.byteLength));
        const pieceSize = size === undefined ? undefined : Math.min(target, size - written);
        const part = await this.uploadPart(key, uploadId, n, piece, pieceSize === undefined ? {} : { size: pieceSize });
        parts.push(part);
        written += decodePartTag(part).size;
      }
      if (size !== undefined && written !== size) throw new StorageError(`body of ${written} bytes, ${size} declared`, 'invalid-part');
      return await this.completeMultipart(key, uploadId, parts);
    } catch (error) {
      await this.abortMultipart(key, uploadId).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Sends a request with a streamed body. The SDK pipes the body into the request, and a pipe
   * does not pass on a source's error: without this, a body that fails (a client gone mid-push)
   * would leave the request waiting forever. Here it aborts the request and surfaces the body's
   * own error; and a request that fails first stops the body.
   */
  private async sendBody<T>(body: Uint8Array | Readable, send: (body: Uint8Array | Readable, abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    if (body instanceof Uint8Array) return send(body, controller.signal);
    let failure: unknown;
    body.on('error', (error) => {
      failure ??= error;
      controller.abort(error);
    });
    try {
      return await send(body, controller.signal);
    } catch (error) {
      throw failure ?? error;
    } finally {
      body.destroy();
    }
  }

  private checkPartNumber(partNumber: number): void {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > this.limits.maxParts) {
      throw new StorageError(`part number ${partNumber} outside 1-${this.limits.maxParts}`, 'invalid-part');
    }
  }
}

/**
 * Checks the Content-Range the server answered with, and never returns bytes outside the range
 * asked for: S3 keeps to the range, but local servers do not always (s3rver serves `bytes=0-0`
 * as the whole object, and a range of an empty object as an empty 206).
 */
function servedRange(
  body: AsyncIterable<Uint8Array> & { destroy?: () => void },
  contentRange: string | undefined,
  range: ByteRange,
  key: string,
): AsyncIterable<Uint8Array> {
  const served = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(contentRange ?? '');
  const total = Number(served?.[3]);
  if (!served || Number(served[1]) !== range.start || range.start >= total) {
    body.destroy?.();
    if (served && range.start >= total) throw new StorageError(`range ${range.start}-${range.end} outside ${key}`, 'invalid-range');
    throw new Error(`asked for bytes ${range.start}-${range.end} of ${key}, the server sent ${contentRange ?? 'no Content-Range'}`);
  }
  const wanted = Math.min(range.end, total - 1) - range.start + 1;
  return Number(served[2]) - range.start + 1 > wanted ? truncated(body, wanted) : body;
}

async function* truncated(body: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let left = size;
  // Leaving the loop early returns the iterator, which destroys the response stream.
  for await (const chunk of body) {
    if (chunk.byteLength >= left) {
      if (left > 0) yield chunk.subarray(0, left);
      return;
    }
    left -= chunk.byteLength;
    yield chunk;
  }
}

async function* concatBodies(first: Uint8Array, rest: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (first.byteLength > 0) yield first;
  yield* rest;
}

function mapMultipartError(key: string, uploadId: string) {
  return (error: unknown): never => {
    switch (errorCode(error)) {
      case 'NoSuchUpload':
        throw new StorageError(`no multipart upload ${uploadId} for ${key}`, 'no-such-upload');
      case 'EntityTooSmall':
        throw new StorageError(`a part of ${key} is below the minimum size`, 'part-too-small');
      case 'InvalidPart':
      case 'InvalidPartOrder':
      case 'EntityTooLarge':
        throw new StorageError(`${errorCode(error)} completing ${key}`, 'invalid-part');
      default:
        throw error;
    }
  };
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const code = errorCode(error);
  // HeadObject has no error body: its 404 arrives as NotFound. A missing bucket is no missing key.
  return code === 'NoSuchKey' || code === 'NotFound' || (httpStatus(error) === 404 && code !== 'NoSuchBucket');
}
