/** Small helpers over byte streams (AsyncIterable<Uint8Array>). */

export async function collect(stream: AsyncIterable<Uint8Array>, limit = Number.MAX_SAFE_INTEGER): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.byteLength;
    if (size > limit) throw new RangeError(`stream exceeds ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** Concatenates byte sources lazily: each is opened only when the previous one is drained. */
export async function* concat(sources: Array<() => Promise<AsyncIterable<Uint8Array>>>): AsyncGenerator<Uint8Array> {
  for (const open of sources) yield* await open();
}

/** Passes chunks through, showing each to `see` first (hashing, counting). */
export async function* tap(source: AsyncIterable<Uint8Array>, see: (chunk: Uint8Array) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    see(chunk);
    yield chunk;
  }
}

/**
 * Reads up to `want` bytes ahead, to learn whether a body of unknown length is small. Returns a
 * stream that replays what was read and continues with the rest.
 */
export async function readAhead(source: AsyncIterable<Uint8Array>, want: number): Promise<{ stream: AsyncIterable<Uint8Array>; size: number; ended: boolean }> {
  const iterator = source[Symbol.asyncIterator]();
  const buffered: Uint8Array[] = [];
  let size = 0;
  let ended = false;
  while (size < want) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    buffered.push(next.value);
    size += next.value.byteLength;
  }
  async function* replay(): AsyncGenerator<Uint8Array> {
    yield* buffered;
    if (ended) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { stream: replay(), size, ended };
}

/**
 * Cuts one byte stream into consecutive pieces of chosen sizes (upload parts), without copying
 * more than the chunk that straddles a boundary.
 */
export class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private pending: Uint8Array | undefined;
  private ended = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** True once the source has no more bytes (reads ahead one chunk to know). */
  async atEnd(): Promise<boolean> {
    if (this.pending && this.pending.byteLength > 0) return false;
    if (this.ended) return true;
    const next = await this.iterator.next();
    if (next.done) {
      this.ended = true;
      return true;
    }
    this.pending = next.value;
    return next.value.byteLength === 0 ? this.atEnd() : false;
  }

  /** The next `limit` bytes (fewer at the end), as a stream; drain it before the next take. */
  async *take(limit: number): AsyncGenerator<Uint8Array> {
    let left = limit;
    while (left > 0 && !(await this.atEnd())) {
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
}
