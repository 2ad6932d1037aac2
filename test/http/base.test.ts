import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('GET /v2/', () => {
  it('answers 200 with a JSON object and the API version header', async () => {
    const res = await t.client.get('/v2/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({});
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  it('answers the same without the trailing slash', async () => {
    const res = await t.client.get('/v2');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
  });

  it('carries a request id on every response', async () => {
    const res = await t.client.get('/v2/');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('HEAD /v2/', () => {
  it('answers 200 with no body', async () => {
    const res = await t.client.head('/v2/');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });
});

describe('absolute URLs with a configured public URL', () => {
  it('build Location and Link from it, not from the Host the app sees', async () => {
    const behind = await createTestApp({ publicUrl: 'https://registry.example.com/' });
    try {
      const started = await behind.client.send('POST', '/v2/pub/repo/blobs/uploads/', { headers: { Host: 'internal.lambda-url.aws' } });
      expect(started.headers.get('location')).toMatch(/^https:\/\/registry\.example\.com\/v2\/pub\/repo\/blobs\/uploads\/[0-9a-f-]{36}$/);
      const image = await behind.client.pushImage('pub/repo', 'a');
      await behind.client.pushManifest('pub/repo', 'b', image.bytes);
      const put = await behind.client.putManifest('pub/repo', 'c', image.bytes);
      expect(put.headers.get('location')).toBe(`https://registry.example.com/v2/pub/repo/manifests/${image.digest}`);
      const tags = await behind.client.get('/v2/pub/repo/tags/list?n=1');
      expect(tags.headers.get('link')).toBe('<https://registry.example.com/v2/pub/repo/tags/list?n=1&last=a>; rel="next"');
    } finally {
      await behind.close();
    }
  });
});
