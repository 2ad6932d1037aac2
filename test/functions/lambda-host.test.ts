/**
 * The Lambda host fed full Function URL events (as CloudFront forwards them) over the embedded
 * store: the origin lock, the edge's headers, binary bodies in base64, redirects, HEAD, query
 * strings, the body limit, configuration failures, and the EMF metrics it writes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Auth, defaultAuthSettings } from '../../core/auth/index.ts';
import { generateSigningKey, type SigningKey } from '../../core/auth/signing-keys.ts';
import { emfSink, silentLogger, type AppDeps } from '../../core/http/index.ts';
import { MediaType } from '../../core/oci/index.ts';
import { createLambdaHost, type FunctionUrlResult } from '../../functions/registry/lambda-host.ts';
import { ORIGIN_DENIED_MESSAGE, secretOriginLock, staticOriginLock } from '../../functions/registry/origin-lock.ts';
import { ConfigurationError, type OriginRuntime } from '../../functions/registry/runtime.ts';
import { CachedSecret, type SecretSource, type SecretStage } from '../../functions/registry/secrets.ts';
import { createTestApp, descriptorOf, ociManifest, type TestApp } from '../support/app.ts';
import { pull, token } from '../edge/support.ts';
import { bodyOf, CLIENT_IP, functionUrlEvent, ORIGIN_SECRET, VIEWER_HOST } from './support.ts';

const logs: Array<{ level: string; event: string; fields?: Record<string, unknown> }> = [];
const log = {
  info: (event: string, fields?: Record<string, unknown>) => logs.push({ level: 'info', event, fields }),
  warn: (event: string, fields?: Record<string, unknown>) => logs.push({ level: 'warn', event, fields }),
  error: (event: string, fields?: Record<string, unknown>) => logs.push({ level: 'error', event, fields }),
};
const emf: Array<Record<string, unknown>> = [];

let t: TestApp;
let handler: ReturnType<typeof createLambdaHost>;
beforeAll(async () => {
  t = await createTestApp({ settings: { hashMode: 'resumable' } });
  const deps: AppDeps = {
    registry: t.registry,
    log: silentLogger,
    http: {},
    metrics: emfSink({ service: 'registry', write: (line) => emf.push(JSON.parse(line) as Record<string, unknown>) }),
  };
  handler = createLambdaHost({ deps: async () => deps, originLock: staticOriginLock([ORIGIN_SECRET]), log });
});
afterAll(async () => {
  await t?.close();
});

const json = (r: FunctionUrlResult) => JSON.parse(bodyOf(r).toString('utf8')) as { errors?: Array<{ code: string; message: string; detail?: unknown }> };

describe('origin lock', () => {
  it('refuses a request straight to the function URL (no secret) with 403 DENIED, and logs it', async () => {
    logs.length = 0;
    const r = await handler(functionUrlEvent('GET', '/v2/', { direct: true }));
    expect(r.statusCode).toBe(403);
    expect(r.headers?.['content-type']).toBe('application/json');
    expect(json(r)).toEqual({ errors: [{ code: 'DENIED', message: ORIGIN_DENIED_MESSAGE }] });
    expect(logs).toEqual([expect.objectContaining({ level: 'warn', event: 'origin-denied' })]);
  });

  it('refuses a wrong secret, and a spoofed edge header does not help', async () => {
    const r = await handler(functionUrlEvent('DELETE', '/v2/team/app/manifests/latest', { secret: 'guess', headers: { 'x-cirrus-token': 'forged' } }));
    expect(r.statusCode).toBe(403);
    expect(json(r).errors?.[0]?.code).toBe('DENIED');
  });

  it('over Secrets Manager: current and previous versions pass during a rotation; a retired one fails after the cache refresh', async () => {
    let now = 0;
    const versions: Partial<Record<SecretStage, string>> = { AWSCURRENT: 'new-secret', AWSPREVIOUS: 'old-secret' };
    let reads = 0;
    const source: SecretSource = { read: async (stage) => (reads++, versions[stage] ? { value: versions[stage]!, versionId: `${stage}-v` } : undefined) };
    const lock = secretOriginLock(new CachedSecret(source, 300_000, () => now, ['AWSCURRENT', 'AWSPREVIOUS']), () => now);
    expect(await lock.accepts('new-secret')).toBe(true);
    expect(await lock.accepts('old-secret')).toBe(true);
    expect(await lock.accepts(undefined)).toBe(false);
    delete versions.AWSPREVIOUS;
    versions.AWSCURRENT = 'newer-secret';
    expect(await lock.accepts('old-secret')).toBe(true); // cached for up to 5 minutes
    now += 31_000;
    expect(await lock.accepts('newer-secret')).toBe(true); // an unknown value re-reads at once (≥ 30 s apart)
    now += 300_000;
    expect(await lock.accepts('old-secret')).toBe(false);
    expect(reads).toBeLessThan(10);
  });
});

describe('requests through CloudFront', () => {
  const layer = randomBytes(1536);
  layer[0] = 0xff; // not UTF-8: survives only as base64
  const layerDigest = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
  const config = Buffer.from('{"architecture":"arm64","os":"linux"}');
  let manifestDigest = '';

  it('GET /v2/ answers 200 with the API version header', async () => {
    const r = await handler(functionUrlEvent('GET', '/v2/'));
    expect(r.statusCode).toBe(200);
    expect(r.headers?.['docker-distribution-api-version']).toBe('registry/2.0');
  });

  it('a binary monolithic upload (base64 body, query string): 201, Location on the viewer\'s host', async () => {
    const r = await handler(
      functionUrlEvent('POST', '/v2/team/app/blobs/uploads/', {
        query: `digest=${encodeURIComponent(layerDigest)}`,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(layer.length) },
        body: layer,
      }),
    );
    expect(r.statusCode, bodyOf(r).toString()).toBe(201);
    expect(r.headers?.location).toBe(`https://${VIEWER_HOST}/v2/team/app/blobs/${layerDigest}`);
    expect(r.headers?.['docker-content-digest']).toBe(layerDigest);
    const c = await handler(functionUrlEvent('POST', '/v2/team/app/blobs/uploads/', { query: `digest=${descriptorOf('x', config).digest}`, headers: { 'content-type': 'application/octet-stream' }, body: config }));
    expect(c.statusCode).toBe(201);
  });

  it('HEAD a blob: its length in the headers, no body', async () => {
    const r = await handler(functionUrlEvent('HEAD', `/v2/team/app/blobs/${layerDigest}`));
    expect(r.statusCode).toBe(200);
    expect(r.headers?.['content-length']).toBe(String(layer.length));
    expect(r.body).toBe('');
  });

  it('GET a blob: a 307 to a signed URL, marked no-store', async () => {
    const r = await handler(functionUrlEvent('GET', `/v2/team/app/blobs/${layerDigest}`));
    expect(r.statusCode).toBe(307);
    expect(r.headers?.location).toMatch(/^\/_objects\//);
    expect(r.headers?.['cache-control']).toBe('no-store');
  });

  it('PUT a manifest (text body), GET it by digest (its bytes back), and tags with ?n= paging links on the viewer\'s host', async () => {
    const manifest = JSON.stringify(ociManifest(descriptorOf('application/vnd.oci.image.config.v1+json', config), [descriptorOf('application/vnd.oci.image.layer.v1.tar+gzip', layer)]));
    for (const tag of ['v1', 'v2']) {
      const put = await handler(functionUrlEvent('PUT', `/v2/team/app/manifests/${tag}`, { headers: { 'content-type': MediaType.ociManifest }, body: manifest }));
      expect(put.statusCode, bodyOf(put).toString()).toBe(201);
      manifestDigest = put.headers!['docker-content-digest']!;
    }
    const got = await handler(functionUrlEvent('GET', `/v2/team/app/manifests/${manifestDigest}`, { headers: { accept: MediaType.ociManifest } }));
    expect(got.statusCode).toBe(200);
    expect(got.headers?.['content-type']).toBe(MediaType.ociManifest);
    expect(bodyOf(got).toString('utf8')).toBe(manifest);
    const tags = await handler(functionUrlEvent('GET', '/v2/team/app/tags/list', { query: 'n=1' }));
    expect(tags.statusCode).toBe(200);
    expect(JSON.parse(bodyOf(tags).toString())).toEqual({ name: 'team/app', tags: ['v1'] });
    expect(tags.headers?.link).toMatch(new RegExp(`^<https://${VIEWER_HOST}/v2/team/app/tags/list\\?`));
  });

  it('a declared body over 4 MiB: 413 SIZE_INVALID with the chunking hint (the Lambda host always applies the limit)', async () => {
    const start = await handler(functionUrlEvent('POST', '/v2/team/big/blobs/uploads/'));
    expect(start.statusCode).toBe(202);
    const location = new URL(start.headers!.location!);
    expect(location.host).toBe(VIEWER_HOST);
    const r = await handler(functionUrlEvent('PATCH', location.pathname, { headers: { 'content-length': String(5 * 1024 * 1024), 'content-range': `0-${5 * 1024 * 1024 - 1}` } }));
    expect(r.statusCode).toBe(413);
    expect(json(r).errors?.[0]).toMatchObject({ code: 'SIZE_INVALID', message: expect.stringMatching(/push in chunks/) });
  });

  it('wrote one EMF document per request: requests, redirects, upload sessions, errors by code, bytes by project', () => {
    const directives = (doc: Record<string, unknown>) => (doc._aws as { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> }).CloudWatchMetrics;
    for (const doc of emf) {
      expect(directives(doc)[0]).toMatchObject({ Namespace: 'Cirrus', Dimensions: [['Service'], ['Service', 'Route']] });
      expect(doc).toMatchObject({ Service: 'registry', Requests: 1 });
    }
    expect(emf.filter((d) => d.Redirects === 1)).toHaveLength(1);
    expect(emf.filter((d) => d.UploadSessions === 1)).toHaveLength(1);
    const committed = emf.filter((d) => d.BytesCommitted !== undefined);
    expect(committed.map((d) => [d.Project, d.BytesCommitted])).toEqual([
      ['team', layer.length],
      ['team', config.length],
    ]);
    const errors = emf.filter((d) => d.Code !== undefined);
    expect(errors.map((d) => d.Code)).toEqual(['SIZE_INVALID']);
    expect(directives(errors[0]!)[1]).toEqual({ Namespace: 'Cirrus', Dimensions: [['Service', 'Code']], Metrics: [{ Name: 'Errors', Unit: 'Count' }] });
  });
});

describe('with access control', () => {
  let key: SigningKey;
  let auth: ReturnType<typeof createLambdaHost>;
  beforeAll(async () => {
    key = (await generateSigningKey()).key;
    const authDeps: AppDeps = {
      registry: t.registry,
      log: silentLogger,
      http: {},
      auth: new Auth({ table: t.table, key, settings: { ...defaultAuthSettings }, now: Date.now }),
    };
    auth = createLambdaHost({ deps: async () => authDeps, originLock: staticOriginLock([ORIGIN_SECRET]), log });
  });

  it('the token the edge verified (x-cirrus-token) is what the app checks: CloudFront does not forward Authorization on GET', async () => {
    const denied = await auth(functionUrlEvent('GET', '/v2/team/app/tags/list'));
    expect(denied.statusCode).toBe(401);
    const good = await token(key, [pull('team/app')]);
    const allowed = await auth(functionUrlEvent('GET', '/v2/team/app/tags/list', { headers: { 'x-cirrus-token': good, 'x-cirrus-principal': 'alice' } }));
    expect(allowed.statusCode).toBe(200);
  });

  it('a forged token in the edge header is verified again, and refused', async () => {
    const stranger = (await generateSigningKey()).key;
    const forged = await token(stranger, [pull('team/app')], { subject: 'admin' });
    const r = await auth(functionUrlEvent('GET', '/v2/team/app/tags/list', { headers: { 'x-cirrus-token': forged } }));
    expect(r.statusCode).toBe(401);
  });

  it('the client address the edge saw replaces CloudFront\'s in the request context', async () => {
    const event = functionUrlEvent('GET', '/v2/');
    await auth(event);
    expect(event.requestContext.http.sourceIp).toBe(CLIENT_IP);
    expect(event.requestContext.domainName).toBe(VIEWER_HOST);
    expect(Object.keys(event.headers).filter((h) => h.startsWith('x-cirrus-'))).toEqual([]);
  });
});

describe('configuration failures', () => {
  it('answer 500 with a request id, the reason in the log only', async () => {
    logs.length = 0;
    const runtime: OriginRuntime = {
      deps: async () => {
        throw new ConfigurationError('the signing key secret holds no ES256 private key');
      },
      originLock: staticOriginLock([ORIGIN_SECRET]),
      log,
    };
    const r = await createLambdaHost(runtime)(functionUrlEvent('GET', '/v2/'));
    expect(r.statusCode).toBe(500);
    const body = json(r);
    expect(body.errors?.[0]?.code).toBe('UNKNOWN');
    const requestId = (body.errors?.[0]?.detail as { requestId: string }).requestId;
    expect(r.headers?.['x-request-id']).toBe(requestId);
    expect(bodyOf(r).toString()).not.toMatch(/signing key|at /);
    expect(logs).toEqual([expect.objectContaining({ level: 'error', event: 'configuration', fields: expect.objectContaining({ requestId }) })]);
  });
});
