/**
 * Lambda refuses request bodies over 6 MB before the function runs, and binary bodies arrive
 * base64-encoded, so about 4.4 MiB of raw body is the real ceiling. Rather than let a client see
 * a bare 413 from the platform (or a timeout), refuse any body declared over 4 MiB, or of unknown
 * length, with an OCI error that says how to push in chunks. The edge answers the same before
 * Lambda is reached; the local host applies it under CIRRUS_LAMBDA_LIMITS=1 to prove the topology.
 */
import type { MiddlewareHandler } from 'hono';
import { codes, RegistryError } from '../errors/index.ts';
import type { AppEnv } from './app-env.ts';

export const LAMBDA_BODY_LIMIT = 4 * 1024 * 1024;

export const CHUNKED_PUSH_HINT =
  `request bodies over ${LAMBDA_BODY_LIMIT} bytes (4 MiB), or of unknown length, cannot reach this registry; ` +
  'push in chunks: POST /v2/<name>/blobs/uploads/, then PATCH each chunk of at most 4 MiB with Content-Range ' +
  'and Content-Length, then PUT ?digest=<digest> (OCI-Chunk-Min-Length tells the minimum chunk size)';

/** Checks the declared body size; true when the request may proceed. */
export function withinLambdaLimits(method: string, contentLength: string | undefined, transferEncoding: string | undefined): boolean {
  if (method === 'GET' || method === 'HEAD' || method === 'DELETE' || method === 'OPTIONS') return true;
  if (contentLength === undefined) return !(transferEncoding ?? '').toLowerCase().includes('chunked');
  return /^\d{1,16}$/.test(contentLength) && Number(contentLength) <= LAMBDA_BODY_LIMIT;
}

export const lambdaLimits: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!withinLambdaLimits(c.req.method, c.req.header('content-length'), c.req.header('transfer-encoding'))) {
    throw new RegistryError(codes.SIZE_INVALID, { status: 413, message: CHUNKED_PUSH_HINT });
  }
  await next();
};
