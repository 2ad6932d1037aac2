/** Reading request bodies and the headers that describe them, with OCI errors for bad values. */
import type { Context } from 'hono';
import { codes, RegistryError } from '../errors/index.ts';
import type { AppEnv } from './app-env.ts';

/** The body as a byte stream; undefined when the request declares none. */
export function bodyStream(c: Context<AppEnv>): AsyncIterable<Uint8Array> | undefined {
  const length = contentLength(c);
  const chunked = (c.req.header('transfer-encoding') ?? '').toLowerCase().includes('chunked');
  if (length === 0 || (length === undefined && !chunked)) return undefined;
  // On Node, the raw request streams straight from the socket; elsewhere, the web stream.
  const incoming = c.env?.incoming;
  const stream = incoming ?? c.req.raw.body ?? undefined;
  if (!stream) return undefined;
  const body = clientBody(stream);
  // A client that stops sending without closing would hold its upload's write lease for ever.
  return incoming && 'destroy' in incoming
    ? idleGuard(body, incoming as unknown as { destroy(error: Error): void }, c.var.deps.http.bodyIdleMs ?? BODY_IDLE_MS)
    : body;
}

/** How long a body may send nothing while we wait for it before the request is cut off (default). */
export const BODY_IDLE_MS = 120_000;

/**
 * Cuts off a body that sends nothing for `idleMs` while the registry waits for it. Only time spent
 * waiting on the client counts: a consumer busy storing a part is not the client's idleness.
 * The request fails first (so its upload lease is released and the answer written), and the
 * connection is closed a moment later, so a client that sees the close can resume at once.
 */
async function* idleGuard(
  source: AsyncIterable<Uint8Array>,
  socket: { destroy(error: Error): void },
  idleMs: number,
): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  let waitingSince: number | undefined;
  let giveUp: ((error: Error) => void) | undefined;
  const check = setInterval(() => {
    if (waitingSince === undefined || Date.now() - waitingSince <= idleMs) return;
    giveUp?.(new RegistryError(codes.SIZE_INVALID, { message: `the request body sent nothing for ${idleMs} ms` }));
    setTimeout(() => socket.destroy(new Error('aborted')), 1000).unref();
  }, Math.max(idleMs / 4, 50));
  check.unref();
  try {
    for (;;) {
      waitingSince = Date.now();
      const idle = new Promise<never>((_, reject) => (giveUp = reject));
      const next = await Promise.race([iterator.next(), idle]);
      waitingSince = undefined;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    clearInterval(check);
  }
}

/**
 * A body that breaks off (the client closed the connection, or its chunked framing is bad) is the
 * client's failure: 400 SIZE_INVALID, never a logged 500. Node answers the client itself when it
 * still can; this keeps the registry's own record of the request right.
 */
async function* clientBody(stream: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* stream;
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    throw new RegistryError(codes.SIZE_INVALID, { message: 'the request body broke off before its end (connection closed or malformed framing)' });
  }
}

export function contentLength(c: Context<AppEnv>): number | undefined {
  const raw = c.req.header('content-length');
  if (raw === undefined) return undefined;
  if (!/^\d{1,16}$/.test(raw)) throw new RegistryError(codes.SIZE_INVALID, { message: 'malformed Content-Length' });
  return Number(raw);
}

/** Content-Range of a chunk: `<start>-<end>` (inclusive), as the distribution spec writes it. */
export function contentRange(c: Context<AppEnv>): { start: number; end: number } | undefined {
  const raw = c.req.header('content-range');
  if (raw === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d{1,16})-(\d{1,16})(?:\/(?:\d{1,16}|\*))?$/.exec(raw.trim());
  if (!m) throw new RegistryError(codes.BLOB_UPLOAD_INVALID, { status: 416, message: `malformed Content-Range ${JSON.stringify(raw)}` });
  return { start: Number(m[1]), end: Number(m[2]) };
}

/** Reads a whole (small) body, refusing more than `limit` bytes with 413. */
export async function readBody(c: Context<AppEnv>, limit: number): Promise<Uint8Array> {
  const declared = contentLength(c);
  if (declared !== undefined && declared > limit) {
    throw new RegistryError(codes.SIZE_INVALID, { status: 413, message: `body exceeds ${limit} bytes` });
  }
  const stream = bodyStream(c);
  if (!stream) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.byteLength;
    if (size > limit) throw new RegistryError(codes.SIZE_INVALID, { status: 413, message: `body exceeds ${limit} bytes` });
    chunks.push(chunk);
  }
  if (declared !== undefined && size !== declared) {
    throw new RegistryError(codes.SIZE_INVALID, { message: `body has ${size} bytes, Content-Length says ${declared}` });
  }
  return Buffer.concat(chunks, size);
}
