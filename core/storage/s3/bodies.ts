/**
 * Bodies for S3, which needs every request body's length up front: a reader that hands out a
 * body in pieces, a length check for bodies whose size the caller declared, and a spool to a
 * temp file for pieces of unknown length (memory stays bounded whatever the size).
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StorageError, type Body } from '../../ports/object-store.ts';

export function iterate(body: Body): AsyncIterable<Uint8Array> {
  return body instanceof Uint8Array ? once(body) : body;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  if (bytes.byteLength > 0) yield bytes;
}

/** Pieces of one body, in order: `take(n)` yields the next n bytes (fewer at the end). */
export class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private pending: Uint8Array | undefined;
  private done = false;

  constructor(body: Body) {
    this.iterator = iterate(body)[Symbol.asyncIterator]();
  }

  async atEnd(): Promise<boolean> {
    return !(await this.fill());
  }

  async *take(n: number): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0 && (await this.fill())) {
      const chunk = this.pending as Uint8Array;
      if (chunk.byteLength <= left) {
        this.pending = undefined;
        left -= chunk.byteLength;
        yield chunk;
      } else {
        this.pending = chunk.subarray(left);
        yield chunk.subarray(0, left);
        left = 0;
      }
    }
  }

  /** Reads up to n bytes into memory. */
  async read(n: number): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of this.take(n)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  private async fill(): Promise<boolean> {
    while (this.pending === undefined || this.pending.byteLength === 0) {
      if (this.done) return false;
      const next = await this.iterator.next();
      if (next.done) {
        this.done = true;
        return false;
      }
      this.pending = next.value;
    }
    return true;
  }
}

export class LengthMismatchError extends Error {
  constructor(declared: number, actual: string) {
    super(`body length ${actual} differs from the declared ${declared} bytes`);
    this.name = 'LengthMismatchError';
  }
}

/**
 * A request body of exactly `size` bytes: the stream fails (and so the request, before S3 stores
 * anything) if the source turns out longer or shorter than declared.
 */
export function exactBody(body: Body, size: number): Uint8Array | Readable {
  if (body instanceof Uint8Array) {
    if (body.byteLength !== size) throw new LengthMismatchError(size, String(body.byteLength));
    return body;
  }
  return Readable.from(checked(body, size), { objectMode: false });
}

async function* checked(body: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.byteLength;
    if (seen > size) throw new LengthMismatchError(size, `over ${size}`);
    if (chunk.byteLength > 0) yield chunk;
  }
  if (seen !== size) throw new LengthMismatchError(size, String(seen));
}

export interface Spooled {
  size: number;
  open(): Readable;
  remove(): Promise<void>;
}

/** Writes a body to a temp file to learn its length; fails past `maxSize` bytes. */
export async function spool(body: AsyncIterable<Uint8Array>, dir: string, maxSize: number): Promise<Spooled> {
  const path = join(dir, `cirrus-s3-spool-${randomUUID()}`);
  let size = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of body) {
      size += chunk.byteLength;
      if (size > maxSize) throw new StorageError(`a part may not exceed ${maxSize} bytes`, 'invalid-part');
      yield chunk;
    }
  }
  const remove = () => rm(path, { force: true });
  try {
    await pipeline(Readable.from(counted(), { objectMode: false }), createWriteStream(path));
  } catch (error) {
    await remove();
    throw error;
  }
  return { size, open: () => createReadStream(path), remove };
}
