/**
 * The Lambda host: a Function URL event passes the origin lock, gets the edge's headers applied,
 * then goes to the app through `hono/aws-lambda` (handler.ts). Payload format 2.0.
 */
import type { AppDeps } from '../../core/http/index.ts';
import { createHandler } from './handler.ts';
import { toLambdaResult } from '../../core/errors/index.ts';
import { applyEdgeHeaders, ORIGIN_SECRET_HEADER, originDenied } from './origin-lock.ts';
import { configurationFailure, type OriginRuntime } from './runtime.ts';

/** A Lambda Function URL request (payload format version 2.0), as far as the host reads it. */
export interface FunctionUrlEvent {
  version: '2.0';
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
  requestContext: {
    accountId: string;
    apiId: string;
    domainName: string;
    domainPrefix: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: string;
    stage: string;
    time: string;
    timeEpoch: number;
    [key: string]: unknown;
  };
  body?: string;
  isBase64Encoded: boolean;
}

export interface FunctionUrlResult {
  statusCode: number;
  headers?: Record<string, string>;
  cookies?: string[];
  body: string;
  isBase64Encoded: boolean;
}

type Handle = ReturnType<typeof createHandler>;

export function createLambdaHost(runtime: OriginRuntime) {
  const handlers = new WeakMap<AppDeps, Handle>();
  return async function handler(event: FunctionUrlEvent, context?: unknown): Promise<FunctionUrlResult> {
    const headers = (event.headers ??= {});
    if (runtime.originLock && !(await runtime.originLock.accepts(headers[ORIGIN_SECRET_HEADER]))) {
      runtime.log.warn('origin-denied', { method: event.requestContext.http.method, path: event.rawPath.slice(0, 512), sourceIp: event.requestContext.http.sourceIp });
      return toLambdaResult(originDenied());
    }
    const forwarded = applyEdgeHeaders(headers);
    if (forwarded.host) event.requestContext.domainName = forwarded.host;
    if (forwarded.clientIp) event.requestContext.http.sourceIp = forwarded.clientIp;

    let deps: AppDeps;
    try {
      deps = await runtime.deps();
    } catch (error) {
      return toLambdaResult(configurationFailure(runtime.log, error));
    }
    let handle = handlers.get(deps);
    if (!handle) handlers.set(deps, (handle = createHandler(deps)));
    const result = await handle(event as unknown as Parameters<Handle>[0], context as Parameters<Handle>[1]);
    return result as unknown as FunctionUrlResult;
  };
}
