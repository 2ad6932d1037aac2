// The one error writer outside Hono: the same OCI body, status and headers whatever the host's
// response shape (fetch Response, Lambda result, CloudFront generated response, Node response).
import { describe, expect, it } from 'vitest';
import { codes, internalErrorResponse, RegistryError, toCloudFrontResponse, toErrorResponse, toFetchResponse, toLambdaResult, writeNodeError } from '../../core/errors/index.ts';

describe('toErrorResponse', () => {
  it('writes a RegistryError or a catalogue code as the OCI body, with its status and headers', async () => {
    const fromError = toErrorResponse(new RegistryError(codes.SIZE_INVALID, { status: 413, message: 'too big', detail: { max: 1 }, headers: { 'Retry-After': '1' } }));
    const fromCode = toErrorResponse(codes.SIZE_INVALID, { status: 413, message: 'too big', detail: { max: 1 }, headers: { 'Retry-After': '1' } });
    expect(fromCode).toEqual(fromError);
    expect(fromError.status).toBe(413);
    expect(JSON.parse(fromError.body)).toEqual({ errors: [{ code: 'SIZE_INVALID', message: 'too big', detail: { max: 1 } }] });
    expect(fromError.headers).toMatchObject({ 'Content-Type': 'application/json', 'Docker-Distribution-API-Version': 'registry/2.0', 'Retry-After': '1' });
    const res = toFetchResponse(toErrorResponse(codes.DENIED, undefined, { 'Cache-Control': 'no-store' }));
    expect(res.status).toBe(403);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ errors: [{ code: 'DENIED', message: codes.DENIED.message }] });
  });

  it('an unexpected fault carries the request id in its body and header', () => {
    const error = internalErrorResponse('req-1', { status: 502 });
    expect(error.status).toBe(502);
    expect(error.headers['X-Request-Id']).toBe('req-1');
    expect(JSON.parse(error.body)).toEqual({ errors: [{ code: 'UNKNOWN', message: expect.stringMatching(/request id/), detail: { requestId: 'req-1' } }] });
  });

  it('adapts to the Lambda, CloudFront and Node shapes', () => {
    const error = toErrorResponse(codes.UNAUTHORIZED, undefined, { 'WWW-Authenticate': 'Bearer realm="x"' });
    expect(toLambdaResult(error)).toEqual({ statusCode: 401, headers: expect.objectContaining({ 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="x"' }), body: error.body, isBase64Encoded: false });
    expect(toCloudFrontResponse(error, 'Unauthorized')).toMatchObject({
      status: '401',
      statusDescription: 'Unauthorized',
      headers: { 'www-authenticate': [{ key: 'WWW-Authenticate', value: 'Bearer realm="x"' }] },
      body: error.body,
    });
    const written: Array<[number, Record<string, string>, string | undefined]> = [];
    let destroyed = false;
    const res = (headersSent: boolean) => ({
      headersSent,
      writeHead: (status: number, headers: Record<string, string>) => ({ end: (body?: string) => written.push([status, headers, body]) }),
      destroy: () => (destroyed = true),
    });
    writeNodeError(res(false), error, { Connection: 'close' });
    expect(written).toEqual([[401, expect.objectContaining({ Connection: 'close', 'Content-Length': String(error.body.length) }), error.body]]);
    writeNodeError(res(true), error);
    expect(destroyed).toBe(true);
    expect(written).toHaveLength(1);
  });
});
