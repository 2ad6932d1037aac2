// Lambda Function URL events (payload 2.0) as CloudFront's requests arrive at the function: the
// viewer's headers (AllViewerExceptHostHeader), CloudFront's own, the origin secret, the edge's.
import { randomUUID } from 'node:crypto';
import type { FunctionUrlEvent } from '../../functions/registry/lambda-host.ts';

export const FUNCTION_DOMAIN = 'abcdefghijklmnopqrstuvwxyz234567.lambda-url.eu-west-1.on.aws';
export const VIEWER_HOST = 'd111111abcdef8.cloudfront.net';
export const CLIENT_IP = '198.51.100.23';
export const ORIGIN_SECRET = 'k3Ep1tS3cr3tXyZ0123456789abcdefABCDEF0123456789';

export interface EventInit {
  query?: string;
  headers?: Record<string, string>;
  /** Bytes are sent base64-encoded (isBase64Encoded), as Function URLs deliver binary bodies. */
  body?: Uint8Array | string;
  /** Leave out the origin secret and the edge's headers: a request straight to the function URL. */
  direct?: boolean;
  secret?: string;
}

export function functionUrlEvent(method: string, path: string, init: EventInit = {}): FunctionUrlEvent {
  const headers: Record<string, string> = {
    host: FUNCTION_DOMAIN,
    'user-agent': 'containerd/2.0.2',
    via: '2.0 8f22423015641505b8c857a37450d6c0.cloudfront.net (CloudFront)',
    'x-amz-cf-id': 'Jgdl1ZIXlwLDcaGqOAZJc1Md-SXAt6k3Q7y8yFQYyYW3YfX0KLA1bA==',
    'x-amzn-trace-id': 'Root=1-67a0f1c2-0c7a2c7d1f1e4f0e2b3a4c5d',
    'x-forwarded-for': `${CLIENT_IP}, 130.176.212.5`,
    'x-forwarded-proto': 'https',
    'x-forwarded-port': '443',
  };
  if (!init.direct) {
    headers['x-cirrus-origin-secret'] = init.secret ?? ORIGIN_SECRET;
    headers['x-cirrus-origin-generation'] = '1';
    headers['x-cirrus-host'] = VIEWER_HOST;
    headers['x-cirrus-client-ip'] = CLIENT_IP;
  }
  for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = value;
  const binary = init.body instanceof Uint8Array;
  const event: FunctionUrlEvent = {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: init.query ?? '',
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abcdefghijklmnopqrstuvwxyz234567',
      domainName: FUNCTION_DOMAIN,
      domainPrefix: 'abcdefghijklmnopqrstuvwxyz234567',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '130.176.212.5', userAgent: headers['user-agent']! },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: '25/Nov/2026:10:58:01 +0000',
      timeEpoch: 1_795_517_881_000,
    },
    isBase64Encoded: binary,
  };
  if (init.query) event.queryStringParameters = Object.fromEntries(new URLSearchParams(init.query));
  if (init.body !== undefined) event.body = binary ? Buffer.from(init.body as Uint8Array).toString('base64') : (init.body as string);
  return event;
}

export function bodyOf(result: { body: string; isBase64Encoded: boolean }): Buffer {
  return result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body, 'utf8');
}
