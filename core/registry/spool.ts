/**
 * Spooling one upload part of unknown length to local disk, for stores that need each part's
 * length up front (S3). One part at a time, so disk and memory stay bounded by the part size.
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
  open(): AsyncIterable<Uint8Array>;
  remove(): Promise<void>;
}

export async function spool(source: AsyncIterable<Uint8Array>, dir = tmpdir()): Promise<Spooled> {
  const path = join(dir, `cirrus-part-${randomUUID()}`);
  let size = 0;
  const counted = Readable.from(
    (async function* () {
      for await (const chunk of source) {
        size += chunk.byteLength;
        yield chunk;
      }
    })(),
  );
  try {
    await pipeline(counted, createWriteStream(path));
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
  return { size, open: () => createReadStream(path, { highWaterMark: 1024 * 1024 }), remove: () => rm(path, { force: true }) };
}
