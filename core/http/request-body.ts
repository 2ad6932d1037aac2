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
  const stream = c.env?.incoming ?? c.req.raw.body ?? undefined;
  return stream && clientBody(stream);
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
