/** The one error writer: RegistryError → its OCI body and status; anything else → a logged 500. */
import type { Context } from 'hono';
import { codes, errorBody, RegistryError } from '../errors/index.ts';
import type { AppEnv } from './app-env.ts';

export function errorResponse(error: unknown, c: Context<AppEnv>): Response {
  const requestId = c.get('requestId');
  // A fresh Response drops the headers the request middleware prepared, so the id is set here:
  // it is all a HEAD client (no body) gets to quote.
  const idHeader: Record<string, string> = requestId ? { 'X-Request-Id': requestId } : {};
  if (error instanceof RegistryError) {
    return new Response(errorBody([{ code: error.code, message: error.message, detail: error.detail }]), {
      status: error.status,
      headers: { 'Content-Type': 'application/json', ...idHeader, ...error.headers },
    });
  }
  c.var.deps?.log.error('unexpected', {
    requestId,
    error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
  });
  return new Response(
    errorBody([{ code: codes.UNKNOWN.code, message: 'internal error; quote the request id when reporting it', detail: { requestId } }]),
    { status: 500, headers: { 'Content-Type': 'application/json', ...idHeader } },
  );
}
