/**
 * The edge and the rest agree: Accept normalisation never changes the origin's answer, the upload
 * path patterns and header names are the ones infra declares, and the bundle esbuild bakes runs.
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDGE_METHOD_HEADER, ORIGIN_SECRET_HEADER } from '../../core/http/edge-headers.ts';
import { MediaType } from '../../core/oci/index.ts';
import { normaliseAccept } from '../../edge/viewer-request/accept.ts';
import type { CloudFrontResultResponse } from '../../edge/viewer-request/cloudfront.ts';
import { isUploadPath, UPLOAD_PATH_PATTERNS } from '../../edge/viewer-request/routing.ts';
import { bundleEdge } from '../../infra/bundle/esbuild.ts';
import * as cdn from '../../infra/constructs/cdn.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { newKey, PARTIES, pull, token, viewerEvent } from './support.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('Accept normalisation', () => {
  const accepts = [
    undefined,
    '',
    '*/*',
    'application/json',
    MediaType.ociManifest,
    `${MediaType.dockerManifest}, ${MediaType.ociIndex}`,
    `${MediaType.dockerManifest};q=0.5,${MediaType.dockerManifestList}`,
    `${MediaType.ociIndex}, application/*`,
    `text/html, ${MediaType.dockerManifest}`,
    `${MediaType.ociManifest.toUpperCase()}`,
    'application/vnd.example.thing+json, application/vnd.oci.image.manifest.v1+json',
  ];

  it('gives the origin the same answer for every stored manifest type', async () => {
    const oci = await t.client.pushImage('edge/accept', 'oci');
    const index = await t.client.pushManifest('edge/accept', 'index', {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [{ mediaType: MediaType.ociManifest, digest: oci.digest, size: oci.bytes.byteLength }],
    });
    expect(index).toMatch(/^sha256:/);
    for (const tag of ['oci', 'index']) {
      for (const accept of accepts) {
        const original = await t.client.get(`/v2/edge/accept/manifests/${tag}`, accept === undefined ? {} : { Accept: accept });
        const normal = normaliseAccept(accept);
        const normalised = await t.client.get(`/v2/edge/accept/manifests/${tag}`, normal === undefined ? {} : { Accept: normal });
        expect(normalised.status, `${tag} with Accept ${accept} → ${normal}`).toBe(original.status);
      }
    }
  });
});

describe('shared names', () => {
  it('upload path patterns: the edge routes as CloudFront does', () => {
    expect([...UPLOAD_PATH_PATTERNS]).toEqual([...cdn.PATHS.uploads]);
    expect(isUploadPath('/v2/a/b/blobs/uploads/')).toBe(true);
    expect(isUploadPath('/v2/a/blobs/uploads')).toBe(true);
    expect(isUploadPath('/v2/a/blobs/uploads/0d2b')).toBe(true);
    expect(isUploadPath('/v2/a/blobs/sha256:abc')).toBe(false);
    expect(isUploadPath('/v2/a/manifests/uploads')).toBe(false);
  });

  it('header names: infra sends and keys on what the origins and the edge read', () => {
    expect(cdn.ORIGIN_SECRET_HEADER).toBe(ORIGIN_SECRET_HEADER);
    expect(cdn.EDGE_METHOD_HEADER).toBe(EDGE_METHOD_HEADER);
  });
});

describe('the baked bundle', () => {
  it('runs with the configuration esbuild put in it', async () => {
    const { key, publicJwk } = await newKey();
    const bundle = bundleEdge({ auth: { ...PARTIES, publicKeys: [publicJwk] }, bodyLimit: 'all', scheme: 'https', publicUrl: 'https://registry.example.com' });
    const { handler } = (await import(pathToFileURL(join(bundle.dir, 'index.mjs')).href)) as { handler: (e: unknown) => Promise<unknown> };
    const denied = (await handler(viewerEvent('GET', '/v2/team/app/tags/list'))) as CloudFrontResultResponse;
    expect(denied.status).toBe('401');
    expect(denied.headers?.['www-authenticate']?.[0]?.value).toMatch(/^Bearer realm="https:\/\/registry\.example\.com\/token"/);
    const good = await token(key, [pull('team/app')]);
    const passed = (await handler(viewerEvent('GET', '/v2/team/app/tags/list', { headers: { Authorization: `Bearer ${good}` } }))) as { uri: string };
    expect(passed.uri).toBe('/v2/team/app/tags/list');
  });
});
