/**
 * The viewer-request handler fed full CloudFront viewer-request events: token checks and the
 * challenge it answers itself, body limits per origin, what it forwards, cache-key normalisation.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { SigningKey } from '../../core/auth/signing-keys.ts';
import { EDGE_CLIENT_IP_HEADER, EDGE_HOST_HEADER, EDGE_METHOD_HEADER, EDGE_PRINCIPAL_HEADER, EDGE_TOKEN_HEADER, ORIGIN_SECRET_HEADER } from '../../core/http/edge-headers.ts';
import { CHUNKED_PUSH_HINT } from '../../core/http/lambda-limits.ts';
import type { CloudFrontRequest, CloudFrontResultResponse } from '../../edge/viewer-request/cloudfront.ts';
import type { EdgeConfig } from '../../edge/viewer-request/config.ts';
import { createViewerRequestHandler, type ViewerRequestResult } from '../../edge/viewer-request/handler.ts';
import { DISTRIBUTION, newKey, PARTIES, pull, push, token, viewerEvent } from './support.ts';

let key: SigningKey;
let nextKey: SigningKey;
let config: EdgeConfig;
const logged: Array<Record<string, unknown>> = [];
let edge: ReturnType<typeof createViewerRequestHandler>;

beforeAll(async () => {
  const current = await newKey();
  const next = await newKey();
  key = current.key;
  nextKey = next.key;
  config = { auth: { ...PARTIES, publicKeys: [current.publicJwk, next.publicJwk] }, bodyLimit: 'except-uploads', scheme: 'https' };
  edge = createViewerRequestHandler(config, { log: { info: (event, fields) => logged.push({ event, ...fields }) } });
});

const MANIFEST = '/v2/team/app/manifests/latest';
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

function response(result: ViewerRequestResult): CloudFrontResultResponse {
  if (!('status' in result)) expect.fail(`expected a response, the request was forwarded to ${result.uri}`);
  return result;
}
function forwarded(result: ViewerRequestResult): CloudFrontRequest {
  if ('status' in result) expect.fail(`expected the request forwarded, got ${result.status}: ${result.body}`);
  return result;
}
const header = (r: { headers?: CloudFrontRequest['headers'] }, name: string) => r.headers?.[name]?.[0]?.value;
const errorCode = (r: CloudFrontResultResponse) => (JSON.parse(r.body!) as { errors: Array<{ code: string; message: string }> }).errors[0]!;

describe('tokens', () => {
  it('an anonymous GET /v2/ gets the challenge (realm on the viewer\'s host, service), unlogged', async () => {
    logged.length = 0;
    const r = response(await edge(viewerEvent('GET', '/v2/')));
    expect(r.status).toBe('401');
    expect(header(r, 'www-authenticate')).toBe(`Bearer realm="https://${DISTRIBUTION}/token",service="cirrus"`);
    expect(header(r, 'content-type')).toBe('application/json');
    expect(errorCode(r).code).toBe('UNAUTHORIZED');
    expect(logged).toEqual([]);
  });

  it('a pull without a token: 401 naming the scope to ask for; the denial is logged', async () => {
    logged.length = 0;
    const r = response(await edge(viewerEvent('GET', MANIFEST, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })));
    expect(r.status).toBe('401');
    expect(header(r, 'www-authenticate')).toBe(`Bearer realm="https://${DISTRIBUTION}/token",service="cirrus",scope="repository:team/app:pull"`);
    expect(logged).toEqual([expect.objectContaining({ event: 'edge-denied', reason: 'no token', repository: 'team/app', action: 'pull', clientIp: '203.0.113.178', status: 401 })]);
  });

  it('a valid token granting pull: forwarded with the token, the principal, the viewer host and address', async () => {
    const t = await token(key, [pull('team/app')]);
    const req = forwarded(await edge(viewerEvent('HEAD', MANIFEST, { headers: bearer(t) })));
    expect(header(req, EDGE_TOKEN_HEADER)).toBe(t);
    expect(header(req, EDGE_PRINCIPAL_HEADER)).toBe('alice');
    expect(header(req, EDGE_HOST_HEADER)).toBe(DISTRIBUTION);
    expect(header(req, EDGE_CLIENT_IP_HEADER)).toBe('203.0.113.178');
    expect(header(req, 'authorization')).toBe(`Bearer ${t}`);
  });

  it('tokens of either bundled key verify (a rotation in progress)', async () => {
    const t = await token(nextKey, [pull('team/app')], { subject: 'bob' });
    expect(header(forwarded(await edge(viewerEvent('GET', MANIFEST, { headers: bearer(t) }))), EDGE_PRINCIPAL_HEADER)).toBe('bob');
  });

  it('refuses expired, foreign-key, wrong-audience and malformed tokens with error="invalid_token"', async () => {
    const stranger = (await newKey()).key;
    const cases = [
      await token(key, [pull('team/app')], { now: Date.now() - 3600_000, ttlSeconds: 60 }),
      await token(stranger, [pull('team/app')]),
      await token(key, [pull('team/app')], { service: 'another-registry' }),
      'not.a.jwt',
    ];
    for (const t of cases) {
      const r = response(await edge(viewerEvent('GET', MANIFEST, { headers: bearer(t) })));
      expect(r.status).toBe('401');
      expect(header(r, 'www-authenticate')).toMatch(/error="invalid_token"$/);
    }
  });

  it('a token without the action the route needs: insufficient_scope, asking for pull,push on a push', async () => {
    logged.length = 0;
    const t = await token(key, [pull('team/app')]);
    const r = response(await edge(viewerEvent('PUT', MANIFEST, { headers: { ...bearer(t), 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Content-Length': '512' } })));
    expect(r.status).toBe('401');
    expect(header(r, 'www-authenticate')).toBe(`Bearer realm="https://${DISTRIBUTION}/token",service="cirrus",scope="repository:team/app:pull,push",error="insufficient_scope"`);
    expect(logged[0]).toMatchObject({ reason: 'insufficient scope', who: 'alice', action: 'push' });
    const other = response(await edge(viewerEvent('GET', '/v2/team/other/tags/list', { headers: bearer(t) })));
    expect(other.status).toBe('401');
  });

  it('a mount asks for pull on its source too', async () => {
    const r = response(await edge(viewerEvent('POST', '/v2/team/app/blobs/uploads/', { querystring: 'mount=sha256%3A' + 'a'.repeat(64) + '&from=base%2Fimg' })));
    expect(header(r, 'www-authenticate')).toContain('scope="repository:team/app:pull,push repository:base/img:pull"');
  });

  it('leaves routes it cannot decide (unknown methods, malformed names) and /token to the origin', async () => {
    forwarded(await edge(viewerEvent('PATCH', MANIFEST)));
    forwarded(await edge(viewerEvent('GET', '/v2/UPPER/manifests/latest')));
    forwarded(await edge(viewerEvent('GET', '/token', { querystring: 'service=cirrus&scope=repository%3Ateam%2Fapp%3Apull', headers: { Authorization: 'Basic YWxpY2U6c2VjcmV0' } })));
  });

  it('with auth off (CIRRUS_AUTH=off), lets everything through', async () => {
    const open = createViewerRequestHandler({ auth: false, bodyLimit: 'none', scheme: 'http' });
    for (const [method, uri] of [['GET', '/v2/'], ['PUT', MANIFEST], ['DELETE', '/v2/a/blobs/sha256:' + '0'.repeat(64)], ['GET', '/v2/_catalog']] as const) {
      const req = forwarded(await open(viewerEvent(method, uri)));
      expect(header(req, EDGE_TOKEN_HEADER)).toBeUndefined();
    }
  });
});

describe('headers from clients', () => {
  it('strips every x-cirrus-* header a client sends (origin secret, token, host, address), on every path', async () => {
    const open = createViewerRequestHandler({ auth: false, bodyLimit: 'none', scheme: 'https' });
    const spoofed = {
      [ORIGIN_SECRET_HEADER]: 'guess',
      [EDGE_TOKEN_HEADER]: 'forged',
      [EDGE_PRINCIPAL_HEADER]: 'admin',
      [EDGE_HOST_HEADER]: 'evil.example',
      [EDGE_CLIENT_IP_HEADER]: '10.0.0.1',
      'X-Cirrus-Anything': 'x',
    };
    for (const uri of ['/token', '/v2/', MANIFEST, '/elsewhere']) {
      const req = forwarded(await open(viewerEvent('GET', uri, { headers: spoofed })));
      expect(Object.keys(req.headers).filter((h) => h.startsWith('x-cirrus-')).sort()).toEqual([EDGE_CLIENT_IP_HEADER, EDGE_HOST_HEADER, ...(uri === MANIFEST ? [EDGE_METHOD_HEADER] : [])].sort());
      expect(header(req, EDGE_HOST_HEADER)).toBe(DISTRIBUTION);
      expect(header(req, EDGE_CLIENT_IP_HEADER)).toBe('203.0.113.178');
    }
  });
});

describe('body limits', () => {
  const MiB = 1024 * 1024;
  const uploadToken = () => token(key, [push('models/llm')]);
  const upload = '/v2/models/llm/blobs/uploads/4f7e2c8e-2f1a-4b53-9a59-6f1b2a0f0c11';

  it('uploads go to the upload service: any size, streamed or not, passes', async () => {
    const t = await uploadToken();
    forwarded(await edge(viewerEvent('PATCH', upload, { headers: { ...bearer(t), 'Content-Length': String(512 * MiB) } })));
    forwarded(await edge(viewerEvent('PATCH', upload, { headers: { ...bearer(t), 'Transfer-Encoding': 'chunked' } })));
    forwarded(await edge(viewerEvent('POST', '/v2/models/llm/blobs/uploads', { querystring: 'digest=sha256:' + '1'.repeat(64), headers: { ...bearer(t), 'Content-Length': String(6 * MiB) } })));
  });

  it('a body Lambda cannot take on a Lambda route: 413 SIZE_INVALID with the chunking hint', async () => {
    const t = await uploadToken();
    const big = response(await edge(viewerEvent('PUT', '/v2/models/llm/manifests/v1', { headers: { ...bearer(t), 'Content-Length': String(5 * MiB) } })));
    expect(big.status).toBe('413');
    expect(errorCode(big)).toEqual({ code: 'SIZE_INVALID', message: CHUNKED_PUSH_HINT });
    const streamed = response(await edge(viewerEvent('PUT', '/v2/models/llm/manifests/v1', { headers: { ...bearer(t), 'Transfer-Encoding': 'chunked' } })));
    expect(streamed.status).toBe('413');
  });

  it('without an upload service every route is a Lambda route', async () => {
    const lambdaOnly = createViewerRequestHandler({ ...config, bodyLimit: 'all' });
    const t = await uploadToken();
    const r = response(await lambdaOnly(viewerEvent('PATCH', upload, { headers: { ...bearer(t), 'Content-Length': String(5 * MiB), 'Content-Range': `0-${5 * MiB - 1}` } })));
    expect(r.status).toBe('413');
    forwarded(await lambdaOnly(viewerEvent('PATCH', upload, { headers: { ...bearer(t), 'Content-Length': String(4 * MiB), 'Content-Range': `0-${4 * MiB - 1}` } })));
  });

  it('checks the token before the size: an anonymous oversized push learns only that it needs a token', async () => {
    const r = response(await edge(viewerEvent('PUT', '/v2/models/llm/manifests/v1', { headers: { 'Content-Length': String(5 * 1024 * 1024) } })));
    expect(r.status).toBe('401');
  });
});

describe('cache key', () => {
  it('normalises Accept on manifest reads and puts the method in the key; other routes keep theirs', async () => {
    const t = await token(key, [pull('team/app')]);
    const docker = [
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.oci.image.manifest.v1+json',
    ];
    const a = forwarded(await edge(viewerEvent('GET', MANIFEST, { headers: { ...bearer(t), Accept: docker } })));
    const b = forwarded(await edge(viewerEvent('GET', MANIFEST, { headers: { ...bearer(t), Accept: [...docker].reverse().map((d) => `${d}; q=0.9`).join(' , ') } })));
    expect(header(a, 'accept')).toBe([...docker].sort().join(','));
    expect(header(b, 'accept')).toBe(header(a, 'accept'));
    expect(header(a, EDGE_METHOD_HEADER)).toBe('GET');
    const wildcard = forwarded(await edge(viewerEvent('HEAD', MANIFEST, { headers: { ...bearer(t), Accept: 'application/vnd.oci.image.manifest.v1+json, */*' } })));
    expect(wildcard.headers.accept).toBeUndefined();
    expect(header(wildcard, EDGE_METHOD_HEADER)).toBe('HEAD');
    const tags = forwarded(await edge(viewerEvent('GET', '/v2/team/app/tags/list', { headers: { ...bearer(t), Accept: 'application/json' } })));
    expect(header(tags, 'accept')).toBe('application/json');
    expect(header(tags, EDGE_METHOD_HEADER)).toBeUndefined();
  });
});
