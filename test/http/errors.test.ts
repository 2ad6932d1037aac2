import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../core/http/index.ts';
import { createTestApp, expectError, interceptTable, UNKNOWN_DIGEST, type TestApp } from '../support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const UUID = '00000000-0000-4000-8000-000000000000';

/** One request per route kind that takes a repository name. */
const ROUTES: Array<[method: string, path: (name: string) => string]> = [
  ['GET', (n) => `/v2/${n}/tags/list`],
  ['GET', (n) => `/v2/${n}/manifests/latest`],
  ['HEAD', (n) => `/v2/${n}/manifests/latest`],
  ['PUT', (n) => `/v2/${n}/manifests/latest`],
  ['DELETE', (n) => `/v2/${n}/manifests/${UNKNOWN_DIGEST}`],
  ['GET', (n) => `/v2/${n}/blobs/${UNKNOWN_DIGEST}`],
  ['DELETE', (n) => `/v2/${n}/blobs/${UNKNOWN_DIGEST}`],
  ['POST', (n) => `/v2/${n}/blobs/uploads/`],
  ['GET', (n) => `/v2/${n}/blobs/uploads/${UUID}`],
  ['PATCH', (n) => `/v2/${n}/blobs/uploads/${UUID}`],
  ['PUT', (n) => `/v2/${n}/blobs/uploads/${UUID}?digest=${UNKNOWN_DIGEST}`],
  ['DELETE', (n) => `/v2/${n}/blobs/uploads/${UUID}`],
  ['GET', (n) => `/v2/${n}/referrers/${UNKNOWN_DIGEST}`],
];

const BAD_NAMES: Array<[why: string, name: string]> = [
  ['uppercase', 'Library/Busybox'],
  ['a double dot', 'library/a..b'],
  ['a trailing slash', 'library/busybox/'],
  ['an empty component', 'library//busybox'],
  ['256 characters', `${'a'.repeat(127)}/${'b'.repeat(128)}`],
  ['an encoded slash (%2F)', 'library%2Fbusybox'],
  ['a leading separator', '-busybox'],
];

describe('malformed repository names on /v2/<name>/… routes', () => {
  for (const [why, name] of BAD_NAMES) {
    describe(`with ${why}`, () => {
      it.each(ROUTES.map(([method, path]) => [method, path(name)]))('%s %s → 400 NAME_INVALID', async (method, path) => {
        const init = method === 'PUT' || method === 'PATCH' ? { body: '{}' } : undefined;
        await expectError(await t.client.send(method, path, init), 400, 'NAME_INVALID', method);
      });
    });
  }

  it('accepts a name of 255 characters', async () => {
    const name = `${'a'.repeat(127)}/${'b'.repeat(127)}`;
    expect(name).toHaveLength(255);
    expect((await t.client.send('POST', `/v2/${name}/blobs/uploads/`)).status).toBe(202);
  });
});

describe('request ids on error responses', () => {
  it.each([
    ['GET', '/v2/library/busybox/manifests/missing'],
    ['HEAD', '/v2/library/busybox/manifests/missing'],
    ['GET', '/v2/Bad/tags/list'],
    ['GET', '/v2/library/busybox/nothing'],
    ['GET', '/elsewhere'],
    ['PATCH', '/v2/'],
  ])('%s %s carries X-Request-Id', async (method, path) => {
    const res = await t.client.send(method, path);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('unknown routes', () => {
  it.each(['/v2/library/busybox/unknown', '/v2/library/busybox/manifests', '/v2/_catalog/extra', '/v3/', '/'])('GET %s → JSON 404', async (path) => {
    const res = await t.client.get(path);
    await expectError(res, 404, 'UNSUPPORTED');
  });
});

describe('unsupported methods', () => {
  it.each([
    ['POST', '/v2/library/busybox/manifests/latest', 'GET, HEAD, PUT, DELETE'],
    ['PATCH', `/v2/library/busybox/blobs/${UNKNOWN_DIGEST}`, 'GET, HEAD, DELETE'],
    ['PUT', '/v2/library/busybox/tags/list', 'GET'],
    ['DELETE', '/v2/', 'GET, HEAD'],
    ['GET', '/v2/library/busybox/blobs/uploads/', 'POST'],
    ['POST', `/v2/library/busybox/referrers/${UNKNOWN_DIGEST}`, 'GET'],
  ])('%s %s → 405 UNSUPPORTED with Allow', async (method, path, allow) => {
    const res = await t.client.send(method, path);
    await expectError(res, 405, 'UNSUPPORTED');
    expect(res.headers.get('allow')).toBe(allow);
  });
});

describe('unexpected faults', () => {
  it('answer 500 UNKNOWN with a request id that the log carries, and no stack trace', async () => {
    const logged: Array<{ event: string; fields?: Record<string, unknown> }> = [];
    const log: Logger = { info: () => {}, error: (event, fields) => logged.push({ event, fields }) };
    const failing = await createTestApp({
      log,
      wrapTable: (table) =>
        interceptTable(table, {
          get: (pk) => {
            if (pk.startsWith('REPO#')) throw new Error('disk on fire at /secret/path/index.db');
          },
        }),
    });
    try {
      const res = await failing.client.get('/v2/library/busybox/manifests/latest');
      const text = await res.clone().text();
      const error = await expectError(res, 500, 'UNKNOWN');
      const requestId = (error.detail as { requestId?: string }).requestId;
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers.get('x-request-id')).toBe(requestId);
      expect(text).not.toMatch(/disk on fire|\/secret\/|\n\s+at |\.ts:\d+/);
      expect(Object.keys(JSON.parse(text) as object)).toEqual(['errors']);
      expect(logged).toHaveLength(1);
      expect(logged[0]!.fields?.requestId).toBe(requestId);
      expect(JSON.stringify(logged[0]!.fields)).toContain('disk on fire');
      // HEAD gets the status without a body.
      const head = await failing.client.head('/v2/library/busybox/manifests/latest');
      expect(head.status).toBe(500);
      expect(await head.text()).toBe('');
      // Without a body, the header is the only place a HEAD client can find the id.
      expect(head.headers.get('x-request-id')).toBe(logged[1]!.fields?.requestId);
    } finally {
      await failing.close();
    }
  });
});
