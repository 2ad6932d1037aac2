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

