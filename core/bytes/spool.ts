/**
 * Spooling a piece of unknown length to local disk, for stores that need each request body's
 * length up front (S3 parts). One piece at a time, so disk and memory stay bounded by its size.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface Spooled {
  size: number;
  open(): Readable;
  remove(): Promise<void>;
}

export interface SpoolOptions {
  dir?: string;
  /** Fails with `tooLarge()` past this many bytes. */
  maxSize?: number;
  tooLarge?: () => Error;
}

export async function spool(body: AsyncIterable<Uint8Array>, options: SpoolOptions = {}): Promise<Spooled> {
  const path = join(options.dir ?? tmpdir(), `cirrus-spool-${randomUUID()}`);
  const maxSize = options.maxSize ?? Number.MAX_SAFE_INTEGER;
  let size = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of body) {
      size += chunk.byteLength;
      if (size > maxSize) throw options.tooLarge?.() ?? new RangeError(`more than ${maxSize} bytes`);
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
  return { size, open: () => createReadStream(path, { highWaterMark: 1024 * 1024 }), remove };
}
