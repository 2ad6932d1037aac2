/**
 * Cuts one byte stream into consecutive pieces of chosen sizes (upload parts, request bodies),
 * copying nothing but the views of the one chunk that straddles a boundary.
 */
export type Bytes = Uint8Array | AsyncIterable<Uint8Array>;

export function iterate(body: Bytes): AsyncIterable<Uint8Array> {
  return body instanceof Uint8Array ? once(body) : body;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  if (bytes.byteLength > 0) yield bytes;
}

export class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private pending: Uint8Array | undefined;
  private done = false;

  constructor(body: Bytes) {
    this.iterator = iterate(body)[Symbol.asyncIterator]();
  }

  /** True once the source has no more bytes (reads ahead one chunk to know). */
  async atEnd(): Promise<boolean> {
    return !(await this.fill());
  }

  /** The next `n` bytes (fewer at the end), as a stream; drain it before the next take. */
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
