/**
 * Blob uploads: monolithic, streamed and chunked, over a multipart upload of the object store.
 *
 * Each request's bytes become either a part (when, with the chunks staged before it, they reach
 * the store's minimum part size, or the body's length is unknown and turns out large) or a
 * staged object (a small chunk, kept until enough follow or the upload finishes). The session's
 * offset advances only after the bytes are stored, in the write that releases the lease.
 * A finished upload is verified against the client's digest over exactly the bytes stored,
 * then indexed where it lies (never copied).
 */
import { createHash, randomUUID } from 'node:crypto';
import { codes, RegistryError } from '../errors/index.ts';
import { parseDigest } from '../oci/digest.ts';
import type { CompletedPart } from '../ports/object-store.ts';
import { Blobs, type BlobInfo } from './blobs.ts';
import type { RegistryDeps } from './deps.ts';
import { keys } from './keys.ts';
import { concat, readAhead, tap } from './streams.ts';
import { UploadHashes, type SessionHash } from './upload-hash.ts';
import { rangeError, unknownUpload, UploadSessions, type Lease, type UploadSession } from './upload-sessions.ts';

export interface ChunkInput {
  body: AsyncIterable<Uint8Array> | undefined;
  /** Content-Length, when the client sent one. */
  length?: number;
  /** Content-Range as [first, last] byte, when the client sent one. */
  range?: { start: number; end: number };
}

interface Written {
  offset: number;
  partsEnd: number;
  nextPart: number;
  multipartId?: string;
}

export class Uploads {
  readonly sessions: UploadSessions;

  constructor(
    private readonly deps: RegistryDeps,
    private readonly blobs: Blobs,
    private readonly hashes: UploadHashes,
  ) {
    this.sessions = new UploadSessions(deps);
  }

  start(repo: string): Promise<UploadSession> {
    return this.sessions.create(repo);
  }

  async status(repo: string, uuid: string): Promise<UploadSession> {
    const session = await this.sessions.load(repo, uuid);
    if (!this.hashes.canContinue(uuid, session.offset, session.hashState)) throw lostHash(uuid);
    return session;
  }

  /** PATCH: appends one chunk (streamed or with Content-Range). */
  async append(repo: string, uuid: string, chunk: ChunkInput): Promise<UploadSession> {
    const session = await this.sessions.load(repo, uuid);
    checkRange(session, chunk);
    return this.withLease(session, async (lease, hash) => {
      const written = await this.writeChunk(lease.session, chunk, hash, false);
      return this.sessions.advance(lease, { ...written, hashState: hash.publish(written.offset) });
    });
  }

  /** PUT ?digest=: appends the final chunk (if any), verifies the digest and commits the blob. */
  async finish(repo: string, uuid: string, digest: string, chunk: ChunkInput): Promise<BlobInfo> {
    const session = await this.sessions.load(repo, uuid);
    if (chunk.body !== undefined && chunk.range) checkRange(session, chunk);
    return this.withLease(session, async (lease, hash) => {
      const s = lease.session;
      let size: number;
      try {
        size = await this.assemble(s, chunk, hash);
      } catch (error) {
        if (error instanceof RegistryError) throw error;
        await this.discard(s);
        throw error;
      }
      await this.verify(s.key, size, digest, hash, () => this.discard(s));
      const blob = await this.blobs.commit(digest, s.key, size);
      if (!(await this.blobs.link(repo, digest))) throw new RegistryError(codes.BLOB_UPLOAD_INVALID, { message: 'blob vanished during commit; retry' });
      this.hashes.forget(uuid);
      await this.sessions.remove(uuid);
      return blob;
    });
  }

  /** POST ?digest= with the whole blob as body: no session item at all. */
  async monolithic(repo: string, digest: string, chunk: ChunkInput): Promise<BlobInfo> {
    const { objects } = this.deps;
    const session = { key: keys.blobObject(randomUUID()) };
    const hash = createHash('sha256');
    const wrapper: SessionHash = { update: (c) => void hash.update(c), hex: () => hash.copy().digest('hex'), publish: () => undefined };
    const body = chunk.body ?? emptyBody();
    const { size } = await objects.put(session.key, tap(body, (c) => hash.update(c)), { size: chunk.length });
    checkLength(chunk, size);
    await this.verify(session.key, size, digest, wrapper, () => objects.delete(session.key));
    const blob = await this.blobs.commit(digest, session.key, size);
    if (!(await this.blobs.link(repo, digest))) throw new RegistryError(codes.BLOB_UPLOAD_INVALID, { message: 'blob vanished during commit; retry' });
    return blob;
  }

  /** DELETE: aborts the multipart upload and forgets the session. */
  async cancel(repo: string, uuid: string): Promise<void> {
    const session = await this.sessions.load(repo, uuid);
    this.hashes.forget(uuid);
    await this.discard(session);
  }

  private async withLease<T>(session: UploadSession, work: (lease: Lease, hash: SessionHash) => Promise<T>): Promise<T> {
    const hash = await this.hashes.open(session.uuid, session.offset, session.hashState);
    if (!hash) throw lostHash(session.uuid);
    const lease = await this.sessions.claim(session);
    try {
      return await work(lease, hash);
    } finally {
      await lease.release();
    }
  }

  /**
   * Stores one chunk. `final` lets a small chunk become the last part. Nothing here moves the
   * session: a failure leaves an orphan part or staged object that the next claim overwrites.
   */
  private async writeChunk(s: UploadSession, chunk: ChunkInput, hash: SessionHash, final: boolean): Promise<Written> {
    const { objects, table } = this.deps;
    const min = objects.limits.minPartSize;
    const staged = s.offset - s.partsEnd;
    let size = 0;
    const body = tap(chunk.body ?? emptyBody(), (c) => {
      size += c.byteLength;
      hash.update(c);
    });
    // With an unknown length, read up to what a part needs before choosing where the bytes go.
    const known = chunk.length ?? (chunk.range && chunk.range.end - chunk.range.start + 1);
    const ahead = known === undefined ? await readAhead(body, min - staged) : undefined;
    const expected = known ?? (ahead!.ended ? ahead!.size : Number.MAX_SAFE_INTEGER);
    const stream = ahead ? ahead.stream : body;

    if (!final && staged + expected < min) {
      const at = s.offset;
      const key = keys.stagedObject(s.uuid, at);
      await objects.put(key, stream, { size: known });
      checkLength(chunk, size);
      const item = keys.stage(s.uuid, at);
      await table.put({ pk: item.pk, sk: item.sk, attrs: { key, size } });
      return { offset: at + size, partsEnd: s.partsEnd, nextPart: s.nextPart, multipartId: s.multipartId };
    }
    const multipartId = s.multipartId ?? (await objects.createMultipart(s.key));
    const stagedChunks = await this.stagedChunks(s);
    const sources = [...stagedChunks.map((c) => () => this.openStaged(c.key)), async () => stream];
    const part = await objects.uploadPart(s.key, multipartId, s.nextPart, concat(sources), {
      size: known === undefined ? undefined : staged + known,
    });
    checkLength(chunk, size);
    const item = keys.part(s.uuid, s.nextPart);
    await table.put({ pk: item.pk, sk: item.sk, attrs: { etag: part.etag, size: staged + size } });
    const offset = s.offset + size;
    // The staged chunks now live in the part; their objects can go.
    await this.dropStaged(stagedChunks);
    return { offset, partsEnd: offset, nextPart: s.nextPart + 1, multipartId };
  }

  /** Writes the final chunk and makes the object; returns its size. */
  private async assemble(s: UploadSession, chunk: ChunkInput, hash: SessionHash): Promise<number> {
    const { objects } = this.deps;
    if (s.multipartId === undefined) {
      // Never reached a part: the blob is the staged chunks plus this body, written as one object.
      const stagedChunks = await this.stagedChunks(s);
      let size = 0;
      const body = tap(chunk.body ?? emptyBody(), (c) => {
        size += c.byteLength;
        hash.update(c);
      });
      const sources = [...stagedChunks.map((c) => () => this.openStaged(c.key)), async () => body];
      const stored = await objects.put(s.key, concat(sources), {
        size: chunk.length === undefined ? undefined : s.offset + chunk.length,
      });
      checkLength(chunk, size);
      await this.dropStaged(stagedChunks);
      return stored.size;
    }
    const hasTail = chunk.body !== undefined || s.offset > s.partsEnd;
    const written = hasTail ? await this.writeChunk(s, chunk, hash, true) : { ...s };
    const parts = await this.parts(s.uuid, written.nextPart);
    const { size } = await objects.completeMultipart(s.key, s.multipartId, parts);
    return size;
  }

  /** Checks the digest the client named against the bytes stored; on mismatch, discards them. */
  private async verify(key: string, size: number, digest: string, hash: SessionHash, discard: () => Promise<void>): Promise<void> {
    const parsed = parseDigest(digest);
    if (!parsed) throw new RegistryError(codes.DIGEST_INVALID, { message: 'malformed or unsupported digest', detail: { digest } });
    let computed: string;
    if (parsed.algorithm === 'sha256') {
      computed = `sha256:${hash.hex()}`;
    } else {
      // The algorithm is known only now: read the stored bytes back.
      const h = createHash(parsed.algorithm);
      const stream = await this.deps.objects.get(key);
      for await (const c of stream ?? []) h.update(c);
      computed = `${parsed.algorithm}:${h.digest('hex')}`;
    }
    if (computed !== digest) {
      await discard();
      throw new RegistryError(codes.DIGEST_INVALID, { detail: { expected: digest, computed, size } });
    }
  }

  private async discard(s: UploadSession): Promise<void> {
    const { objects } = this.deps;
    if (s.multipartId !== undefined) await objects.abortMultipart(s.key, s.multipartId);
    await this.dropStaged(await this.stagedChunks({ ...s, partsEnd: 0, offset: Number.MAX_SAFE_INTEGER }));
    await objects.delete(s.key);
    this.hashes.forget(s.uuid);
    await this.sessions.remove(s.uuid);
  }

  /** Staged chunks holding [partsEnd, offset), in order. */
  private async stagedChunks(s: Pick<UploadSession, 'uuid' | 'partsEnd' | 'offset'>): Promise<Array<{ key: string; at: number; size: number }>> {
    const out: Array<{ key: string; at: number; size: number }> = [];
    let after: string | undefined;
    do {
      const page = await this.deps.table.query(keys.uploadPartition(s.uuid), { prefix: keys.stagePrefix, after });
      for (const item of page.items) {
        const at = Number(item.sk.slice(keys.stagePrefix.length));
        if (at >= s.partsEnd && at < s.offset) out.push({ key: item.attrs.key as string, at, size: item.attrs.size as number });
      }
      after = page.next;
    } while (after !== undefined);
    return out;
  }

  private async openStaged(key: string): Promise<AsyncIterable<Uint8Array>> {
    const stream = await this.deps.objects.get(key);
    if (!stream) throw new Error(`staged chunk ${key} is missing`);
    return stream;
  }

  private async dropStaged(chunks: Array<{ key: string }>): Promise<void> {
    await Promise.all(chunks.map((c) => this.deps.objects.delete(c.key)));
  }

  private async parts(uuid: string, nextPart: number): Promise<CompletedPart[]> {
    const parts: CompletedPart[] = [];
    let after: string | undefined;
    do {
      const page = await this.deps.table.query(keys.uploadPartition(uuid), { prefix: keys.partPrefix, after });
      for (const item of page.items) {
        const partNumber = Number(item.sk.slice(keys.partPrefix.length));
        if (partNumber < nextPart) parts.push({ partNumber, etag: item.attrs.etag as string });
      }
      after = page.next;
    } while (after !== undefined);
    return parts;
  }
}

function checkRange(session: UploadSession, chunk: ChunkInput): void {
  const { range } = chunk;
  if (!range) return;
  if (range.start !== session.offset) throw rangeError(session, `chunk starts at ${range.start}, upload is at ${session.offset}`);
  if (range.end < range.start) throw rangeError(session, 'Content-Range ends before it starts');
  if (chunk.length !== undefined && chunk.length !== range.end - range.start + 1) {
    throw new RegistryError(codes.SIZE_INVALID, { message: 'Content-Length does not match Content-Range' });
  }
}

function checkLength(chunk: ChunkInput, size: number): void {
  const expected = chunk.length ?? (chunk.range && chunk.range.end - chunk.range.start + 1);
  if (expected !== undefined && expected !== size) {
    throw new RegistryError(codes.SIZE_INVALID, { message: `body has ${size} bytes, ${expected} were declared` });
  }
}

function lostHash(uuid: string): RegistryError {
  return new RegistryError(codes.BLOB_UPLOAD_UNKNOWN, {
    message: 'upload state was lost (the server restarted); start the upload again',
    detail: { uuid },
  });
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {}

