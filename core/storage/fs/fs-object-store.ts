/**
 * `ObjectStore` on the local filesystem, the embedded default.
 *
 *   <root>/objects/<key>                  committed objects (a rename makes each one visible whole)
 *   <root>/tags/<key>.json                object tags
 *   <root>/tmp/<random>                   puts in progress
 *   <root>/multipart/<uploadId>/<n>.<etag> parts of a multipart upload
 *
 * Completing a multipart upload renames part 1 into place and appends the rest, so a blob
 * streamed as one large part is committed without copying its bytes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { StorageError, type Body, type ByteRange, type CompletedPart, type MultipartLimits, type ObjectInfo, type ObjectStore } from '../../ports/object-store.ts';
import { iterate } from '../../bytes/byte-reader.ts';
import { writeCoalesced } from '../../bytes/coalesce.ts';
import { signPath } from './signed-url.ts';

const KEY = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

export interface FsObjectStoreOptions {
  root: string;
  /** Base URL the local host serves signed paths on, e.g. http://127.0.0.1:5000. */
  publicUrl: string;
  signingSecret: Uint8Array;
  /** Minimum size of every part but the last; S3's 5 MiB unless a test needs less. */
  minPartSize?: number;
}

export class FsObjectStore implements ObjectStore {
  readonly limits: MultipartLimits;

  constructor(private readonly options: FsObjectStoreOptions) {
    // No 5 GiB part ceiling on a filesystem: a streamed body can be one part, committed by rename.
    this.limits = { minPartSize: options.minPartSize ?? 5 * 1024 * 1024, maxPartSize: Number.MAX_SAFE_INTEGER, maxParts: 10_000 };
  }

  /** Where the local host finds a committed object's bytes. */
  pathOf(key: string): string {
    return join(this.options.root, 'objects', checkKey(key));
  }

  async put(key: string, body: Body): Promise<{ size: number }> {
    const target = this.pathOf(key);
    const tmp = await this.tempFile();
    try {
      const size = await writeBody(tmp, body);
      await this.commit(tmp, key);
      return { size };
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  async get(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | undefined> {
    const handle = await open(this.pathOf(key), 'r').catch(ifMissing(undefined));
    if (!handle) return undefined;
    if (range) {
      const { size } = await handle.stat();
      if (range.start < 0 || range.start > range.end || range.start >= size) {
        await handle.close();
        throw new StorageError(`range ${range.start}-${range.end} outside 0-${size - 1}`, 'invalid-range');
      }
    }
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const info = await stat(this.pathOf(key)).catch(ifMissing(undefined));
    if (!info) return undefined;
    const tags = await readFile(this.tagsPath(key), 'utf8').then(JSON.parse, ifMissing(undefined));
    return tags ? { size: info.size, tags } : { size: info.size };
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
    await rm(this.tagsPath(key), { force: true });
  }

  async setTags(key: string, tags: Record<string, string>): Promise<void> {
    if (!(await this.head(key))) throw new StorageError(`no object ${key}`, 'invalid-part');
    const path = this.tagsPath(key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, JSON.stringify(tags));
  }

  async signedGetUrl(key: string, { expiresInSeconds }: { expiresInSeconds: number }): Promise<string> {
    const expires = Math.floor(Date.now() / 1000) + expiresInSeconds;
    return this.options.publicUrl.replace(/\/$/, '') + signPath(this.options.signingSecret, checkKey(key), expires);
  }

  async list(prefix: string, options: { limit?: number; after?: string } = {}): Promise<{ keys: string[]; next?: string }> {
    const root = join(this.options.root, 'objects');
    const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(ifMissing([]));
    const all = entries
      .filter((e) => e.isFile())
      .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/'))
      .filter((k) => k.startsWith(prefix) && (options.after === undefined || k > options.after))
      .sort();
    const limit = options.limit ?? 1000;
    const keys = all.slice(0, limit);
    return all.length > limit ? { keys, next: keys[keys.length - 1] as string } : { keys };
  }

  async createMultipart(key: string): Promise<string> {
    checkKey(key);
    const uploadId = randomUUID();
    const dir = this.multipartDir(uploadId);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'key'), key);
    return uploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Body): Promise<CompletedPart> {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > this.limits.maxParts) {
      throw new StorageError(`part number ${partNumber} outside 1-${this.limits.maxParts}`, 'invalid-part');
    }
    const dir = await this.openUpload(key, uploadId);
    const etag = randomBytes(8).toString('hex');
    const tmp = await this.tempFile();
    try {
      await writeBody(tmp, body);
      // As on S3, a re-uploaded part number replaces the earlier one.
      for (const old of await this.partFiles(dir, partNumber)) await rm(join(dir, old), { force: true });
      await rename(tmp, join(dir, `${partNumber}.${etag}`));
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    return { partNumber, etag };
  }

  async completeMultipart(key: string, uploadId: string, parts: CompletedPart[]): Promise<{ size: number }> {
    const dir = await this.openUpload(key, uploadId);
    if (parts.length === 0) throw new StorageError('a multipart upload needs at least one part', 'invalid-part');
    const files: string[] = [];
    for (const [i, part] of parts.entries()) {
      if (i > 0 && part.partNumber <= (parts[i - 1] as CompletedPart).partNumber) {
        throw new StorageError('parts must be listed in ascending order', 'invalid-part');
      }
      const file = join(dir, `${part.partNumber}.${part.etag}`);
      const info = await stat(file).catch(ifMissing(undefined));
      if (!info) throw new StorageError(`part ${part.partNumber} with etag ${part.etag} is unknown`, 'invalid-part');
      if (i < parts.length - 1 && info.size < this.limits.minPartSize) {
        throw new StorageError(`part ${part.partNumber} is smaller than ${this.limits.minPartSize} bytes`, 'part-too-small');
      }
      files.push(file);
    }
    const assembled = files[0] as string;
    if (files.length > 1) {
      const out = await open(assembled, 'a');
      try {
        const buffer = Buffer.allocUnsafeSlow(1024 * 1024);
        for (const file of files.slice(1)) await appendFile(file, out, buffer);
      } finally {
        await out.close();
      }
    }
    const size = (await stat(assembled)).size;
    await this.commit(assembled, key);
    await rm(dir, { recursive: true, force: true });
    return { size };
  }

  async abortMultipart(_key: string, uploadId: string): Promise<void> {
    await rm(this.multipartDir(uploadId), { recursive: true, force: true });
  }

  /** Makes `file` the object at `key`, whole. As on S3, a new object does not inherit the old one's tags. */
  private async commit(file: string, key: string): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    // Tags go first: for a moment the old object may show none, never the new one the old tags.
    await rm(this.tagsPath(key), { force: true });
    await rename(file, target);
  }

  private async openUpload(key: string, uploadId: string): Promise<string> {
    const dir = this.multipartDir(uploadId);
    const owner = await readFile(join(dir, 'key'), 'utf8').catch(ifMissing(undefined));
    if (owner !== key) throw new StorageError(`no multipart upload ${uploadId} for ${key}`, 'no-such-upload');
    return dir;
  }

  private async partFiles(dir: string, partNumber: number): Promise<string[]> {
    return (await readdir(dir)).filter((f) => f.startsWith(`${partNumber}.`));
  }

  private multipartDir(uploadId: string): string {
    if (!/^[0-9a-f-]{36}$/.test(uploadId)) throw new StorageError(`malformed upload id ${uploadId}`, 'no-such-upload');
    return join(this.options.root, 'multipart', uploadId);
  }

  private tagsPath(key: string): string {
    return join(this.options.root, 'tags', `${checkKey(key)}.json`);
  }

  private async tempFile(): Promise<string> {
    const dir = join(this.options.root, 'tmp');
    await mkdir(dir, { recursive: true });
    return join(dir, randomUUID());
  }
}

function checkKey(key: string): string {
  if (!KEY.test(key) || key.split('/').some((s) => s === '.' || s === '..')) throw new Error(`unsafe object key ${JSON.stringify(key)}`);
  return key;
}

async function writeBody(path: string, body: Body): Promise<number> {
  const handle = await open(path, 'w');
  try {
    return await writeCoalesced(iterate(body), (bytes) => writeAll(handle, bytes));
  } finally {
    await handle.close();
  }
}

/** Appends `from` to the open `to` through one reused buffer (parts joined at completion). */
async function appendFile(from: string, to: FileHandle, buffer: Buffer): Promise<void> {
  const source = await open(from, 'r');
  try {
    for (;;) {
      const { bytesRead } = await source.read(buffer, 0, buffer.byteLength, null);
      if (bytesRead === 0) return;
      await writeAll(to, buffer.subarray(0, bytesRead));
    }
  } finally {
    await source.close();
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) offset += (await handle.write(bytes, offset, bytes.byteLength - offset)).bytesWritten;
}

function ifMissing<T>(fallback: T) {
  return (error: NodeJS.ErrnoException): T => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return fallback;
    throw error;
  };
}
