/**
 * The viewer-request handler in front of the local host, as CloudFront runs it in front of the
 * origins: a Node request becomes a CloudFront viewer-request event; a generated response is
 * written back as is; a forwarded request has its headers replaced by what the handler returned,
 * then gets the origin side of the contract applied (core/http/edge-headers.ts) before the app.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { internalErrorResponse, toCloudFrontResponse } from '../core/errors/index.ts';
import { jsonLogger } from '../core/http/logger.ts';
import type { CloudFrontHeaders, CloudFrontRequestEvent, CloudFrontResultResponse } from '../edge/viewer-request/cloudfront.ts';
import type { ViewerRequestResult } from '../edge/viewer-request/handler.ts';
import { applyNodeEdgeHeaders } from '../functions/registry/node-host.ts';

// stderr, as before: the host's request log stays on stdout.
const log = jsonLogger((line) => process.stderr.write(line));

export type ViewerRequestHandler = (event: CloudFrontRequestEvent) => Promise<ViewerRequestResult>;

/** Runs the handler; true when the request goes on to the app, false when the edge answered it. */
export async function passEdge(handler: ViewerRequestHandler, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  let result: ViewerRequestResult;
  try {
    result = await handler(viewerRequestEvent(req));
  } catch (error) {
    // CloudFront answers a failed viewer-request function with a 5xx of its own; so does this host.
    const requestId = randomUUID();
    log.error('edge-failed', { requestId, error: String(error) });
    writeResponse(res, toCloudFrontResponse(internalErrorResponse(requestId, { status: 502, message: 'the edge handler failed; quote the request id when reporting it' })));
    return false;
  }
  if ('status' in result) {
    writeResponse(res, result);
    return false;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(result.headers)) {
    // Node joins repeated headers with ", " (set-cookie aside, which requests do not carry).
    headers[name] = values.map((v) => v.value).join(', ');
  }
  req.headers = headers;
  applyNodeEdgeHeaders(req);
  return true;
}

export function viewerRequestEvent(req: IncomingMessage): CloudFrontRequestEvent {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const headers: CloudFrontHeaders = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const key = req.rawHeaders[i]!;
    (headers[key.toLowerCase()] ??= []).push({ key, value: req.rawHeaders[i + 1]! });
  }
  return {
    Records: [
      {
        cf: {
          config: { distributionDomainName: req.headers.host ?? 'localhost', distributionId: 'LOCAL', eventType: 'viewer-request', requestId: randomUUID() },
          request: {
            clientIp: req.socket.remoteAddress ?? '',
            method: req.method ?? 'GET',
            uri: q < 0 ? url : url.slice(0, q),
            querystring: q < 0 ? '' : url.slice(q + 1),
            headers,
          },
        },
      },
    ],
  };
}

function writeResponse(res: ServerResponse, result: CloudFrontResultResponse): void {
  const headers: Record<string, string> = {};
  for (const values of Object.values(result.headers ?? {})) {
    for (const v of values) if (v.key) headers[v.key] = v.value;
  }
  const body = result.body === undefined ? undefined : result.bodyEncoding === 'base64' ? Buffer.from(result.body, 'base64') : Buffer.from(result.body);
  if (body) headers['Content-Length'] = String(body.length);
  res.writeHead(Number(result.status), result.statusDescription, headers);
  res.end(body);
}
