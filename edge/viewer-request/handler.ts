/**
 * The viewer-request handler: runs in CloudFront before the cache, so a bad or unauthorised request
 * costs no origin call and what reaches the cache is normalised.
 *
 * 1. Strips every `x-cirrus-*` header a client sent (the origins believe them).
 * 2. Checks the bearer token against what the route needs (core/http/route-scopes.ts, the origin's
 *    own table) and answers 401 with Docker's challenge itself; denials are logged, not audited.
 * 3. Refuses a body the function behind could not take (413 SIZE_INVALID with the chunking hint).
 * 4. Forwards the verified token and principal, the viewer's Host and address in headers it sets.
 * 5. Normalises Accept on manifest reads, and puts the method in the key of cached routes.
 */
import { covers, formatScope, type Scope } from '../../core/auth/scopes.ts';
import { codes, toCloudFrontResponse, toErrorResponse, type ErrorCode, type ErrorOptions } from '../../core/errors/index.ts';
import {
  EDGE_CLIENT_IP_HEADER,
  EDGE_HOST_HEADER,
  EDGE_METHOD_HEADER,
  EDGE_PRINCIPAL_HEADER,
  EDGE_TOKEN_HEADER,
  INTERNAL_HEADER_PREFIX,
} from '../../core/http/edge-headers.ts';
import { CHUNKED_PUSH_HINT, withinLambdaLimits } from '../../core/http/lambda-limits.ts';
import { jsonLogger, type Logger } from '../../core/http/logger.ts';
import { routeNeed } from '../../core/http/route-scopes.ts';
import { matchRoute, type Route } from '../../core/oci/routes.ts';
import { normaliseAccept } from './accept.ts';
import {
  headerValue,
  setHeader,
  type CloudFrontRequest,
  type CloudFrontRequestEvent,
  type CloudFrontResultResponse,
} from './cloudfront.ts';
import type { EdgeConfig } from './config.ts';
import { isUploadPath } from './routing.ts';
import { importVerificationKeys, verifyWithKeys, type VerificationKey } from './verify.ts';

export interface EdgeOptions {
  /** Where denials go (one JSON line each); CloudWatch Logs of the edge location's region on AWS. */
  log?: Pick<Logger, 'info'>;
  /** ms since the epoch, for token expiry. */
  now?: () => number;
}

export type ViewerRequestResult = CloudFrontRequest | CloudFrontResultResponse;

// Written at once, not batched: Lambda@Edge may freeze the process as soon as the handler returns.
const defaultLog = jsonLogger((line) => process.stdout.write(line));

export function createViewerRequestHandler(config: EdgeConfig, options: EdgeOptions = {}) {
  const log = options.log ?? defaultLog;
  const now = options.now ?? Date.now;
  // Imported once per container, on first use.
  let keys: Promise<VerificationKey[]> | undefined;
  const verificationKeys = () => (keys ??= config.auth ? importVerificationKeys(config.auth.publicKeys) : Promise.resolve([]));

  return async function viewerRequest(event: CloudFrontRequestEvent): Promise<ViewerRequestResult> {
    const request = event.Records[0]!.cf.request;
    const headers = request.headers;
    for (const name of Object.keys(headers)) if (name.startsWith(INTERNAL_HEADER_PREFIX)) delete headers[name];
    const host = headerValue(headers, 'host');
    if (host) setHeader(headers, EDGE_HOST_HEADER, host);
    setHeader(headers, EDGE_CLIENT_IP_HEADER, request.clientIp);

    const method = request.method.toUpperCase();
    const route = matchRoute(request.uri);
    const query = new URLSearchParams(request.querystring);

    if (config.auth && request.uri.startsWith('/v2')) {
      const need = routeNeed(route, method, { mount: query.get('mount') ?? undefined, from: query.get('from') ?? undefined });
      if (need) {
        const authorization = headerValue(headers, 'authorization');
        const token = /^Bearer +([^\s]+) *$/i.exec(authorization ?? '')?.[1];
        const deny = (reason: string, error?: string, who?: string) => {
          // Every client starts with an anonymous GET /v2/ to learn the realm: not worth a line.
          if (!(authorization === undefined && route.kind === 'base')) {
            log.info('edge-denied', { method, path: request.uri.slice(0, 512), status: 401, reason, who: who || 'anonymous', repository: need.repository, action: need.action, clientIp: request.clientIp });
          }
          return unauthorised(challenge(config, host, need.challenge, error));
        };
        if (token === undefined) return deny(authorization === undefined ? 'no token' : 'not a bearer token');
        const verified = await verifyWithKeys(token, await verificationKeys(), config.auth, now());
        if (!verified.ok) return deny(`token ${verified.reason}`, 'invalid_token');
        if (!covers(verified.access, need.required)) return deny('insufficient scope', 'insufficient_scope', verified.subject);
        setHeader(headers, EDGE_TOKEN_HEADER, token);
        setHeader(headers, EDGE_PRINCIPAL_HEADER, verified.subject);
      }
    }

    const toLambda = config.bodyLimit === 'all' || (config.bodyLimit === 'except-uploads' && !isUploadPath(request.uri));
    if (toLambda && !withinLambdaLimits(method, headerValue(headers, 'content-length'), headerValue(headers, 'transfer-encoding'))) {
      return ociError(codes.SIZE_INVALID, 'Payload Too Large', { status: 413, message: CHUNKED_PUSH_HINT });
    }

    if (isCached(route) && (method === 'GET' || method === 'HEAD')) {
      setHeader(headers, EDGE_METHOD_HEADER, method);
      if (route.kind === 'manifest') {
        const accept = normaliseAccept(headerValue(headers, 'accept'));
        if (accept === undefined) delete headers.accept;
        else setHeader(headers, 'Accept', accept);
      }
    }
    return request;
  };
}

/** Routes whose GET/HEAD answers CloudFront may cache (infra/constructs/cdn.ts). */
function isCached(route: Route): boolean {
  return route.kind === 'manifest' || route.kind === 'blob';
}

/** Docker's token challenge, as the origin writes it (core/http/require-token.ts). */
export function challenge(config: EdgeConfig, host: string | undefined, scopes: Scope[], error?: string): string {
  const auth = config.auth as Exclude<EdgeConfig['auth'], false>;
  const base = (config.publicUrl ?? `${config.scheme}://${host ?? 'localhost'}`).replace(/\/$/, '');
  const parts = [`realm="${base}/token"`, `service="${auth.service}"`];
  if (scopes.length > 0) parts.push(`scope="${scopes.map(formatScope).join(' ')}"`);
  if (error) parts.push(`error="${error}"`);
  return `Bearer ${parts.join(',')}`;
}

function unauthorised(wwwAuthenticate: string): CloudFrontResultResponse {
  return ociError(codes.UNAUTHORIZED, 'Unauthorized', undefined, { 'WWW-Authenticate': wwwAuthenticate });
}

function ociError(code: ErrorCode, description: string, options?: ErrorOptions, extra: Record<string, string> = {}): CloudFrontResultResponse {
  return toCloudFrontResponse(toErrorResponse(code, options, { 'Cache-Control': 'no-store', ...extra }), description);
}
