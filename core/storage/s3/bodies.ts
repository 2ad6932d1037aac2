/**
 * Bodies for S3, which needs every request body's length up front: a length check for bodies
 * whose size the caller declared, and the spool of core/bytes bounded by S3's part ceiling for
 * pieces of unknown length (memory stays bounded whatever the size).
 */
import { Readable } from 'node:stream';
import { spool as spoolToDisk, type Spooled } from '../../bytes/spool.ts';
import { StorageError, type Body } from '../../ports/object-store.ts';

export { ByteReader, iterate } from '../../bytes/byte-reader.ts';

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

/** Writes a body to a temp file to learn its length; fails past `maxSize` bytes. */
export function spool(body: AsyncIterable<Uint8Array>, dir: string, maxSize: number): Promise<Spooled> {
  return spoolToDisk(body, { dir, maxSize, tooLarge: () => new StorageError(`a part may not exceed ${maxSize} bytes`, 'invalid-part') });
}
