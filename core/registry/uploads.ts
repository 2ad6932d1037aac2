/**
 * Blob uploads: monolithic, streamed and chunked, over a multipart upload of the object store.
 *
 * A request's bytes become parts when, with the chunks staged before them, they reach the
 * store's minimum part size (a body of unknown length is read ahead to find out), and a staged
 * object otherwise (a small chunk, kept until enough follow or the upload finishes). Large
 * bodies are cut into parts that grow with the upload (part-sizes.ts); the session is
 * checkpointed after each part, so a dropped connection resumes from the last part stored.
 * The offset advances only after the bytes are stored. A finished upload is verified against
 * the client's digest over exactly the bytes stored, then indexed where it lies (never copied).
 */
import { createHash } from 'node:crypto';
import { codes, RegistryError } from '../errors/index.ts';
import { parseDigest } from '../oci/digest.ts';
import type { CompletedPart } from '../ports/object-store.ts';
import { Blobs, type BlobInfo } from './blobs.ts';
import type { RegistryDeps } from './deps.ts';
import { keys } from './keys.ts';
import { allItems } from './paging.ts';
import { ByteReader } from '../bytes/byte-reader.ts';
import { partTarget } from '../bytes/part-sizes.ts';
import { spool, type Spooled } from '../bytes/spool.ts';
import { concat, readAhead, tap } from './streams.ts';
import { UploadHashes, type SessionHash } from './upload-hash.ts';
import { rangeError, UploadSessions, type Lease, type Progress, type UploadSession } from './upload-sessions.ts';

export interface ChunkInput {
  body: AsyncIterable<Uint8Array> | undefined;
  /** Content-Length, when the client sent one. */
  length?: number;
  /** Content-Range as [first, last] byte, when the client sent one. */
  range?: { start: number; end: number };
}

interface StagedChunk {
  key: string;
  at: number;
  size: number;
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
      const progress = await this.writeChunk(lease, chunk, hash, false);
      return this.sessions.advance(lease, { ...progress, hashState: hash.publish(progress.offset) });
    });
  }

  /** PUT ?digest=: appends the final chunk (if any), verifies the digest and commits the blob. */
  async finish(repo: string, uuid: string, digest: string, chunk: ChunkInput): Promise<BlobInfo> {
    const session = await this.sessions.load(repo, uuid);
    if (chunk.body !== undefined) checkRange(session, chunk);
    return this.withLease(session, async (lease, hash) => {
      const s = lease.session;
      const size = await this.assemble(lease, chunk, hash);
      await this.verify(s.key, size, digest, hash, () => this.discard(s));
      const blob = await this.blobs.commit(digest, s.key, size);
      if (!(await this.blobs.link(repo, digest))) {
        throw new RegistryError(codes.BLOB_UPLOAD_INVALID, { message: 'blob vanished during commit; retry the upload' });
      }
      this.hashes.forget(uuid);
      await this.sessions.remove(uuid);
      return blob;
    });
  }

  /** POST ?digest= with the whole blob as body: a session opened and finished in one request. */
  async monolithic(repo: string, digest: string, chunk: ChunkInput): Promise<BlobInfo> {
    const session = await this.sessions.create(repo);
    try {
      return await this.finish(repo, session.uuid, digest, chunk);
    } catch (error) {
      await this.discard(session).catch(() => {});
      throw error;
    }
  }

  /** DELETE: aborts the multipart upload and forgets the session. */
  async cancel(repo: string, uuid: string): Promise<void> {
    const session = await this.sessions.load(repo, uuid);
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
   * Stores one chunk as parts and/or a staged object. `final` lets the tail be the last part,
   * however small. Bytes stored past the last checkpoint are orphans the next claim overwrites.
   */
  private async writeChunk(lease: Lease, chunk: ChunkInput, hash: SessionHash, final: boolean): Promise<Progress> {
    const { objects } = this.deps;
    const start = lease.session;
    const declared = declaredLength(chunk);
    const staged = start.offset - start.partsEnd;
    const raw = chunk.body ?? emptyBody();
    // With an unknown length, read up to what a part needs before choosing where the bytes go.
    const ahead = declared === undefined ? await readAhead(raw, objects.limits.minPartSize - staged) : undefined;
    const total = declared ?? (ahead!.ended ? ahead!.size : undefined);
    const reader = new ByteReader(ahead ? ahead.stream : raw);
    // Hash and count bytes as they are consumed, not as they are read ahead.
    let consumed = 0;
    const hashed = (piece: AsyncIterable<Uint8Array>) =>
      tap(piece, (c) => {
        consumed += c.byteLength;
        hash.update(c);
      });

    let progress: Progress = { ...start };
    if (!final && total === 0) return progress;
    if (!final && total !== undefined && staged + total < objects.limits.minPartSize) {
      progress = await this.stage(progress, start.uuid, hashed(reader.take(total)));
    } else {
      progress = await this.writeParts(lease, progress, reader, hashed, hash, { final, total, startOffset: start.offset });
    }
    if (!(await reader.atEnd())) throw new RegistryError(codes.SIZE_INVALID, { message: 'body is longer than declared' });
    checkLength(chunk, consumed);
    return progress;
  }

  /** Writes the bytes of `reader` as parts (the staged chunks first), checkpointing after each. */
  private async writeParts(
    lease: Lease,
    from: Progress,
    reader: ByteReader,
    hashed: (piece: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>,
    hash: SessionHash,
    body: { final: boolean; total: number | undefined; startOffset: number },
  ): Promise<Progress> {
    const { objects, table } = this.deps;
    const { limits } = objects;
    const s = lease.session;
    let progress: Progress = { ...from, multipartId: from.multipartId ?? (await objects.createMultipart(s.key)) };
    let stagedChunks = await this.stagedChunks(s.uuid, progress.partsEnd, progress.offset);
    let first = true;
    while (first || !(await reader.atEnd())) {
      first = false;
      const stagedBytes = progress.offset - progress.partsEnd;
      const take = Math.max(partTarget(progress.nextPart, limits) - stagedBytes, 0);
      const left = body.total === undefined ? undefined : body.total - (progress.offset - body.startOffset);
      let pieceSize = left === undefined ? undefined : Math.min(take, left);
      let piece = hashed(reader.take(take));
      let spooled: Spooled | undefined;
      if (pieceSize === undefined && limits.maxPartSize < Number.MAX_SAFE_INTEGER) {
        // The store needs each part's length: spool this part to disk to learn it.
        spooled = await spool(piece);
        pieceSize = spooled.size;
        piece = spooled.open();
      }
      try {
        const small = pieceSize !== undefined && stagedBytes + pieceSize < limits.minPartSize;
        // Is this piece the body's end? With a declared length, by arithmetic: the piece is not
        // read yet, so the reader would still see its own bytes. A spooled piece was read whole.
        const lastPiece = left !== undefined ? left <= take : spooled !== undefined && (await reader.atEnd());
        if (small && !body.final && lastPiece) {
          // Too small to be a part unless it is the last: stage it for the next request.
          return await this.stage(progress, s.uuid, piece);
        }
        const sources = [...stagedChunks.map((c) => () => this.openStaged(c.key)), async () => piece];
        let size = 0;
        const counted = tap(concat(sources), (c) => void (size += c.byteLength));
        const part = await objects.uploadPart(s.key, progress.multipartId as string, progress.nextPart, counted, {
          size: pieceSize === undefined ? undefined : stagedBytes + pieceSize,
        });
        const item = keys.part(s.uuid, progress.nextPart);
        await table.put({ pk: item.pk, sk: item.sk, attrs: { etag: part.etag, size } });
        const offset = progress.partsEnd + size;
        progress = { ...progress, offset, partsEnd: offset, nextPart: progress.nextPart + 1 };
      } finally {
        await spooled?.remove();
      }
      await Promise.all(stagedChunks.map((c) => objects.delete(c.key)));
      stagedChunks = [];
      if (!(await reader.atEnd())) {
        await this.sessions.advance(lease, { ...progress, hashState: hash.checkpoint(progress.offset) }, false);
      }
    }
    return progress;
  }

  private async stage(progress: Progress, uuid: string, piece: AsyncIterable<Uint8Array>): Promise<Progress> {
    const { objects, table } = this.deps;
    const at = progress.offset;
    const key = keys.stagedObject(uuid, at);
    const stored = await objects.put(key, piece);
    const item = keys.stage(uuid, at);
    await table.put({ pk: item.pk, sk: item.sk, attrs: { key, size: stored.size } });
    return { ...progress, offset: at + stored.size };
  }

  /** Writes the final chunk and makes the object; returns its size. */
  private async assemble(lease: Lease, chunk: ChunkInput, hash: SessionHash): Promise<number> {
    const { objects } = this.deps;
    const s = lease.session;
    const declared = declaredLength(chunk);
    const total = declared === undefined ? undefined : s.offset + declared;
    const onePut = objects.limits.maxPartSize >= Number.MAX_SAFE_INTEGER || (total !== undefined && total <= objects.limits.maxPartSize);
    if (s.multipartId === undefined && onePut) {
      // No part yet, and the store takes the whole blob in one put: staged chunks + this body.
      const stagedChunks = await this.stagedChunks(s.uuid, s.partsEnd, s.offset);
      let received = 0;
      const body = tap(chunk.body ?? emptyBody(), (c) => {
        received += c.byteLength;
        hash.update(c);
      });
      const sources = [...stagedChunks.map((c) => () => this.openStaged(c.key)), async () => body];
      const stored = await objects.put(s.key, concat(sources), { size: total });
      checkLength(chunk, received);
      await Promise.all(stagedChunks.map((c) => objects.delete(c.key)));
      return stored.size;
    }
    const hasTail = chunk.body !== undefined || s.offset > s.partsEnd || s.multipartId === undefined;
    const progress = hasTail ? await this.writeChunk(lease, chunk, hash, true) : s;
    const parts = await this.parts(s.uuid, progress.nextPart);
    const { size } = await objects.completeMultipart(s.key, progress.multipartId as string, parts);
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

  /** Forgets a session and everything it stored. */
  private async discard(s: UploadSession): Promise<void> {
    const { objects } = this.deps;
    this.hashes.forget(s.uuid);
    const current = await this.sessions.load(s.repo, s.uuid).catch(() => s);
    if (current.multipartId !== undefined) await objects.abortMultipart(current.key, current.multipartId);
    const staged = await this.stagedChunks(s.uuid, 0, Number.MAX_SAFE_INTEGER);
    await Promise.all(staged.map((c) => objects.delete(c.key)));
    await objects.delete(s.key);
    await this.sessions.remove(s.uuid);
  }

  /** Staged chunks holding [from, to), in order. */
  private async stagedChunks(uuid: string, from: number, to: number): Promise<StagedChunk[]> {
    const out: StagedChunk[] = [];
    for await (const item of allItems(this.deps.table, keys.uploadPartition(uuid), { prefix: keys.stagePrefix })) {
      const at = Number(item.sk.slice(keys.stagePrefix.length));
      if (at >= from && at < to) out.push({ key: item.attrs.key as string, at, size: item.attrs.size as number });
    }
    return out;
  }

  private async openStaged(key: string): Promise<AsyncIterable<Uint8Array>> {
    const stream = await this.deps.objects.get(key);
    if (!stream) throw new Error(`staged chunk ${key} is missing`);
    return stream;
  }

  private async parts(uuid: string, nextPart: number): Promise<CompletedPart[]> {
    const parts: CompletedPart[] = [];
    for await (const item of allItems(this.deps.table, keys.uploadPartition(uuid), { prefix: keys.partPrefix })) {
      const partNumber = Number(item.sk.slice(keys.partPrefix.length));
      if (partNumber < nextPart) parts.push({ partNumber, etag: item.attrs.etag as string });
    }
    return parts;
  }
}

function declaredLength(chunk: ChunkInput): number | undefined {
  return chunk.length ?? (chunk.range && chunk.range.end - chunk.range.start + 1);
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
  const expected = declaredLength(chunk);
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
