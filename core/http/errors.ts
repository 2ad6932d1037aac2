/** The app's `onError`: RegistryError → its OCI response (core/errors' writer); anything else → a logged 500. */
import type { Context } from 'hono';
import { codes, internalErrorResponse, RegistryError, toErrorResponse, toFetchResponse } from '../errors/index.ts';
import type { AppEnv } from './app-env.ts';

export function errorResponse(error: unknown, c: Context<AppEnv>): Response {
  const requestId = c.get('requestId');
  // A fresh Response drops the headers the request middleware prepared, so they are set here:
  // the id is all a HEAD client (no body) gets to quote.
  const idHeader: Record<string, string> = requestId ? { 'X-Request-Id': requestId } : {};
  if (clientWentAway(error)) {
    // Not our fault and nobody is listening: note it, do not page anyone with a 500.
    c.var.deps?.log.info('client-aborted', { requestId, method: c.req.method, path: c.req.path.slice(0, 512) });
    error = new RegistryError(codes.BLOB_UPLOAD_INVALID, { message: 'the client closed the connection before the body ended' });
  }
  if (error instanceof RegistryError) return toFetchResponse(toErrorResponse(error, idHeader));
  c.var.deps?.log.error('unexpected', {
    requestId,
    error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
  });
  return toFetchResponse(internalErrorResponse(requestId));
}

/** A request body that ended early because the client disconnected (Node: 'aborted' / ECONNRESET). */
function clientWentAway(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || error.message === 'aborted';
}
