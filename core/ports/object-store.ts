/**
 * `ObjectStore`: byte storage shaped like S3, so that the S3 adapter is a thin mapping and the
 * local filesystem adapter promises the same:
 * - a put is all-or-nothing: a reader sees the whole object or none (no partial objects);
 * - keys are written once by the registry (a blob's key is chosen when its upload starts), so
 *   there is no read-modify-write on objects;
 * - delete is idempotent; deleting a missing key succeeds;
 * - multipart uploads follow S3: parts are numbered 1..10,000, every part except the last must
 *   be at least `limits.minPartSize` (the adapter refuses smaller ones, as S3 does at completion),
 *   a re-uploaded part number replaces the earlier part, and nothing is visible before completion.
 */

export type Body = Uint8Array | AsyncIterable<Uint8Array>;

export interface ObjectInfo {
  size: number;
  tags?: Record<string, string>;
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

export interface MultipartLimits {
  minPartSize: number;
  maxPartSize: number;
  maxParts: number;
}

export interface CompletedPart {
  partNumber: number;
  etag: string;
}

export interface ObjectStore {
  readonly limits: MultipartLimits;
  /** Streams `body` into `key`; `size` when known lets adapters skip buffering. Returns the byte count. */
  put(key: string, body: Body, options?: { size?: number }): Promise<{ size: number }>;
  /** Undefined when absent. */
  get(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | undefined>;
  head(key: string): Promise<ObjectInfo | undefined>;
  delete(key: string): Promise<void>;
  setTags(key: string, tags: Record<string, string>): Promise<void>;
  /** A URL that lets anyone holding it GET (with Range) the object until it expires. */
  signedGetUrl(key: string, options: { expiresInSeconds: number }): Promise<string>;
  /** Keys under a prefix in ascending order, paged; for maintenance and tests, never the request path. */
  list(prefix: string, options?: { limit?: number; after?: string }): Promise<{ keys: string[]; next?: string }>;

  createMultipart(key: string): Promise<string>;
  uploadPart(key: string, uploadId: string, partNumber: number, body: Body, options?: { size?: number }): Promise<CompletedPart>;
  /** Parts in ascending order; the object becomes visible whole. */
  completeMultipart(key: string, uploadId: string, parts: CompletedPart[]): Promise<{ size: number }>;
  /** Idempotent; discards the parts. */
  abortMultipart(key: string, uploadId: string): Promise<void>;
  close?(): Promise<void>;
}

/** Where an object lives in a bucket-shaped store: the source of a server-side copy. */
export interface ObjectLocation {
  bucket: string;
  key: string;
}

/**
 * Server-side copy into a store, for replication between regions: the bytes never pass through
 * the caller (S3 CopyObject, or UploadPartCopy ranges above its 5 GiB copy limit). A port of its
 * own, beside `ObjectStore`, so stores that cannot copy server-side need not pretend to.
 * - the copy is all-or-nothing at `toKey`, as a put is; a failed multipart copy is aborted;
 * - `size` is the size the caller expects: a source of another size is refused (nothing written);
 * - tags may or may not travel with the copy: the caller sets them when it commits it (as it tags an upload);
 * - idempotent by key: copying again to the same key rewrites the same bytes.
 */
export interface ObjectCopier {
  /** The bucket of this store, so another region's copier can name it as a source. */
  readonly bucket: string;
  copyFrom(source: ObjectLocation, toKey: string, options: { size: number }): Promise<{ size: number; parts: number }>;
}

export class StorageError extends Error {
  constructor(message: string, readonly reason: 'part-too-small' | 'invalid-part' | 'no-such-upload' | 'invalid-range') {
    super(message);
    this.name = 'StorageError';
  }
}
