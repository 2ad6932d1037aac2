/**
 * Gathers small chunks into larger ones before they are written: a socket hands out ~16 KiB at
 * a time, and one write call per chunk made system calls a third of the CPU of a large push.
 */
export async function* coalesce(source: AsyncIterable<Uint8Array>, size = 1024 * 1024): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for await (const chunk of source) {
    if (pendingBytes === 0 && chunk.byteLength >= size) {
      yield chunk;
      continue;
    }
    pending.push(chunk);
    pendingBytes += chunk.byteLength;
    if (pendingBytes >= size) {
      yield Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
    }
  }
  if (pendingBytes > 0) yield pending.length === 1 ? (pending[0] as Uint8Array) : Buffer.concat(pending, pendingBytes);
}
