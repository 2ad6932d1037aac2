/**
 * The one error writer. Every host that answers outside Hono's `onError` — the origin lock, the
 * Lambda and upload-service runtimes, the edge handler, the local edge host, the signed-object
 * route — builds its OCI error here, as `{status, headers, body}`, then hands it to the adapter
 * of its response shape: a fetch `Response` (Hono), a Lambda Function URL result, a CloudFront
 * generated response, or a Node `ServerResponse`.
 */
import { codes, type ErrorCode } from './catalogue.ts';
import { errorBody, RegistryError } from './registry-error.ts';

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  /** `{"errors":[{code,message,detail?}]}` */
  body: string;
}

export const INTERNAL_ERROR_MESSAGE = 'internal error; quote the request id when reporting it';

/** A RegistryError, or a catalogue code with options, as its OCI error response. */
export function toErrorResponse(error: RegistryError, headers?: Record<string, string>): ErrorResponse;
export function toErrorResponse(code: ErrorCode, options?: ConstructorParameters<typeof RegistryError>[1], headers?: Record<string, string>): ErrorResponse;
export function toErrorResponse(
  error: RegistryError | ErrorCode,
  second?: ConstructorParameters<typeof RegistryError>[1] | Record<string, string>,
  third?: Record<string, string>,
): ErrorResponse {
  const e = error instanceof RegistryError ? error : new RegistryError(error, second as ConstructorParameters<typeof RegistryError>[1]);
  const extra = (error instanceof RegistryError ? second : third) as Record<string, string> | undefined;
  return {
    status: e.status,
    headers: { 'Content-Type': 'application/json', 'Docker-Distribution-API-Version': 'registry/2.0', ...extra, ...e.headers },
    body: errorBody([{ code: e.code, message: e.message, detail: e.detail }]),
  };
}

/** An unexpected fault: a 500 (or the status a host answers such faults with) whose body carries the id the log line names. */
export function internalErrorResponse(requestId: string | undefined, options: { status?: number; message?: string; headers?: Record<string, string> } = {}): ErrorResponse {
  return toErrorResponse(
    codes.UNKNOWN,
    { status: options.status ?? 500, message: options.message ?? INTERNAL_ERROR_MESSAGE, detail: { requestId } },
    { ...(requestId ? { 'X-Request-Id': requestId } : {}), ...options.headers },
  );
}

/** For Hono and anything else that speaks fetch. */
export function toFetchResponse(error: ErrorResponse): Response {
  return new Response(error.body, { status: error.status, headers: error.headers });
}

/** A Lambda Function URL result (payload 2.0): lower-case header names, as Lambda passes them. */
export function toLambdaResult(error: ErrorResponse): { statusCode: number; headers: Record<string, string>; body: string; isBase64Encoded: false } {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(error.headers)) headers[name.toLowerCase()] = value;
  return { statusCode: error.status, headers, body: error.body, isBase64Encoded: false };
}

/** A CloudFront generated response (Lambda@Edge viewer-request): headers keyed lower-case, each a list of `{key, value}`. */
export function toCloudFrontResponse(
  error: ErrorResponse,
  statusDescription?: string,
): { status: string; statusDescription?: string; headers: Record<string, Array<{ key: string; value: string }>>; body: string } {
  const headers: Record<string, Array<{ key: string; value: string }>> = {};
  for (const [key, value] of Object.entries(error.headers)) headers[key.toLowerCase()] = [{ key, value }];
  return { status: String(error.status), ...(statusDescription ? { statusDescription } : {}), headers, body: error.body };
}

/** The part of Node's `ServerResponse` the writer needs (core/ knows no node:http). */
export interface NodeResponseLike {
  headersSent: boolean;
  writeHead(status: number, headers: Record<string, string>): { end(body?: string): unknown };
  destroy(): unknown;
}

/** Writes the error to a Node response; one whose head already went out can only be cut off. */
export function writeNodeError(res: NodeResponseLike, error: ErrorResponse, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(error.status, { ...error.headers, ...headers, 'Content-Length': String(Buffer.byteLength(error.body)) }).end(error.body);
}
