// The authorisation matrix: every /v2 route × every kind of caller, with the status each cell must
// get. Each cell runs against fresh content (seeded with access control off), so a delete in one
// cell cannot change another. Tokens come from the real token endpoint, one per caller, asking for
// every scope the rows need (as a client would for each request).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_TYPE, descriptorOf, LAYER_TYPE, manifestBytes, ociManifest, sha256, type PushedImage } from '../support/app.ts';
import { createAuthTestApp, type AuthTestApp } from '../support/auth-app.ts';

const CALLERS = ['none', 'anonymous', 'reader', 'writer', 'projectAdmin', 'admin', 'otherWriter', 'robot', 'expired', 'otherRepo'] as const;
type Caller = (typeof CALLERS)[number];

interface Cell {
  image: PushedImage;
  tag: string;
  upload: { path: string; uuid: string };
  /** A blob linked in team/src and one in other/src, for mounts. */
  teamBlob: string;
  otherBlob: string;
}

type Row = [route: string, statuses: number[], run: (send: Send, f: Cell) => Promise<Response>];
type Send = (method: string, path: string, init?: { headers?: Record<string, string>; body?: Uint8Array }) => Promise<Response>;

const R = 'team/app';
const bytes = (n = 300) => randomBytes(n);
const path = (p: string) => new URL(p, 'http://x').pathname + new URL(p, 'http://x').search;

// prettier-ignore
const ROWS: Row[] = [
  //                                          none anon reader writer padmin admin other robot expired otherRepo
  ['GET /v2/',                                 [401, 200, 200,  200,   200,   200,  200,  200,  401,    200], (s) => s('GET', '/v2/')],
  ['HEAD /v2/',                                [401, 200, 200,  200,   200,   200,  200,  200,  401,    200], (s) => s('HEAD', '/v2/')],
  ['GET /v2/_catalog',                         [401, 200, 200,  200,   200,   200,  200,  200,  401,    401], (s) => s('GET', '/v2/_catalog')],
  ['GET tags/list',                            [401, 401, 200,  200,   200,   200,  401,  200,  401,    401], (s) => s('GET', `/v2/${R}/tags/list`)],
  ['GET manifest by tag',                      [401, 401, 200,  200,   200,   200,  401,  200,  401,    401], (s, f) => s('GET', `/v2/${R}/manifests/${f.tag}`)],
  ['HEAD manifest by digest',                  [401, 401, 200,  200,   200,   200,  401,  200,  401,    401], (s, f) => s('HEAD', `/v2/${R}/manifests/${f.image.digest}`)],
  ['GET blob (307)',                           [401, 401, 307,  307,   307,   307,  401,  307,  401,    401], (s, f) => s('GET', `/v2/${R}/blobs/${sha256(f.image.layers[0]!)}`)],
  ['HEAD blob',                                [401, 401, 200,  200,   200,   200,  401,  200,  401,    401], (s, f) => s('HEAD', `/v2/${R}/blobs/${sha256(f.image.config)}`)],
  ['GET referrers',                            [401, 401, 200,  200,   200,   200,  401,  200,  401,    401], (s, f) => s('GET', `/v2/${R}/referrers/${f.image.digest}`)],
  ['PUT manifest',                             [401, 401, 401,  201,   201,   201,  401,  201,  401,    401], (s, f) => {
    const m = manifestBytes(ociManifest(descriptorOf(CONFIG_TYPE, f.image.config), [descriptorOf(LAYER_TYPE, f.image.layers[0]!)], { annotations: { n: `${Math.random()}` } }));
    return s('PUT', `/v2/${R}/manifests/${f.tag}-new`, { headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, body: m });
  }],
  ['DELETE manifest by digest',                [401, 401, 401,  401,   202,   202,  401,  401,  401,    401], (s, f) => s('DELETE', `/v2/${R}/manifests/${f.image.digest}`)],
  ['DELETE tag',                               [401, 401, 401,  401,   202,   202,  401,  401,  401,    401], (s, f) => s('DELETE', `/v2/${R}/manifests/${f.tag}`)],
  ['DELETE blob',                              [401, 401, 401,  401,   202,   202,  401,  401,  401,    401], (s, f) => s('DELETE', `/v2/${R}/blobs/${sha256(f.image.layers[0]!)}`)],
  ['POST upload (start)',                      [401, 401, 401,  202,   202,   202,  401,  202,  401,    401], (s) => s('POST', `/v2/${R}/blobs/uploads/`)],
  ['POST upload ?digest= (monolithic)',        [401, 401, 401,  201,   201,   201,  401,  201,  401,    401], (s) => {
    const b = bytes();
    return s('POST', `/v2/${R}/blobs/uploads/?digest=${sha256(b)}`, { headers: { 'Content-Type': 'application/octet-stream' }, body: b });
  }],
  ['PATCH upload',                             [401, 401, 401,  202,   202,   202,  401,  202,  401,    401], (s, f) => s('PATCH', f.upload.path, { headers: { 'Content-Type': 'application/octet-stream' }, body: bytes() })],
  ['PUT upload (finish)',                      [401, 401, 401,  201,   201,   201,  401,  201,  401,    401], (s, f) => {
    const b = bytes();
    return s('PUT', `${f.upload.path}?digest=${sha256(b)}`, { headers: { 'Content-Type': 'application/octet-stream' }, body: b });
  }],
  ['GET upload (status)',                      [401, 401, 401,  204,   204,   204,  401,  204,  401,    401], (s, f) => s('GET', f.upload.path)],
  ['DELETE upload (cancel)',                   [401, 401, 401,  204,   204,   204,  401,  204,  401,    401], (s, f) => s('DELETE', f.upload.path)],
  // Pull on the source and push on the target mount; push alone falls back to an upload (202).
  ['POST mount from team/src',                 [401, 401, 401,  201,   201,   201,  401,  201,  401,    401], (s, f) => s('POST', `/v2/${R}/blobs/uploads/?mount=${f.teamBlob}&from=team/src`)],
  ['POST mount from other/src',                [401, 401, 401,  202,   202,   201,  401,  202,  401,    401], (s, f) => s('POST', `/v2/${R}/blobs/uploads/?mount=${f.otherBlob}&from=other/src`)],
  ['POST mount without from',                  [401, 401, 401,  201,   201,   201,  401,  201,  401,    401], (s, f) => s('POST', `/v2/${R}/blobs/uploads/?mount=${f.teamBlob}`)],
];

const SCOPES = [`repository:${R}:pull,push,delete`, 'repository:team/src:pull', 'repository:other/src:pull', 'registry:catalog:*'];

let t: AuthTestApp;
const tokens = new Map<Caller, string | undefined>();

beforeAll(async () => {
  t = await createAuthTestApp();
  await t.auth.projects.create('pub', { anonymousPull: true });
  await t.account('admin', 'admin-password');
  await t.account('rita', 'rita-password', { team: 'reader' });
  await t.account('will', 'will-password', { team: 'writer' });
  await t.account('pat', 'pat-password', { team: 'admin' });
  await t.account('otto', 'otto-password', { other: 'writer' });
  await t.account('robot$ci', 'robot-secret-1', { team: 'writer' }, { kind: 'robot', expiresAt: t.clock.now + 86_400_000 });

  tokens.set('none', undefined);
  tokens.set('anonymous', await t.token(undefined, undefined, SCOPES));
  tokens.set('reader', await t.token('rita', 'rita-password', SCOPES));
  tokens.set('writer', await t.token('will', 'will-password', SCOPES));
  tokens.set('projectAdmin', await t.token('pat', 'pat-password', SCOPES));
  tokens.set('admin', await t.token('admin', 'admin-password', SCOPES));
  tokens.set('otherWriter', await t.token('otto', 'otto-password', SCOPES));
  tokens.set('robot', await t.token('robot$ci', 'robot-secret-1', SCOPES));
  tokens.set('otherRepo', await t.token('pat', 'pat-password', ['repository:team/elsewhere:pull,push,delete']));
  // A writer's token, issued (with the registry's clock) ten minutes ago: expired five minutes ago.
  const now = t.clock.now;
  t.clock.now = now - 10 * 60_000;
  tokens.set('expired', await t.token('will', 'will-password', SCOPES));
  t.clock.now = now;
});
afterAll(() => t.close());

let cells = 0;
async function freshCell(): Promise<Cell> {
  const n = ++cells;
  const tag = `c${n}`;
  const image = await t.open.pushImage(R, tag);
  const start = await t.open.startUpload(R);
  const teamBlob = await t.open.pushBlob('team/src', bytes());
  const otherBlob = await t.open.pushBlob('other/src', bytes());
  return { image, tag, upload: { path: path(start.location), uuid: start.uuid }, teamBlob, otherBlob };
}

describe(`the authorisation matrix: ${ROWS.length} routes × ${CALLERS.length} callers = ${ROWS.length * CALLERS.length} cells`, () => {
  for (const [route, statuses, run] of ROWS) {
    it(`${route}: ${CALLERS.map((c, i) => `${c} ${statuses[i]}`).join(', ')}`, async () => {
      expect(statuses).toHaveLength(CALLERS.length);
      const failures: string[] = [];
      for (const [i, caller] of CALLERS.entries()) {
        const cell = await freshCell();
        const token = tokens.get(caller);
        const send: Send = (method, p, init = {}) => t.send(method, p, { ...init, token });
        const res = await run(send, cell);
        const expected = statuses[i]!;
        if (res.status !== expected) {
          failures.push(`${caller}: expected ${expected}, got ${res.status} ${(await res.text()).slice(0, 200)}`);
          continue;
        }
        if (expected !== 401) continue;
        // A refusal: the OCI error and the challenge, and nothing changed.
        const challenge = res.headers.get('www-authenticate') ?? '';
        if (!challenge.startsWith('Bearer realm="http://localhost/token",service="cirrus"')) failures.push(`${caller}: challenge ${challenge}`);
        if (!route.startsWith('HEAD')) {
          const body = (await res.json()) as { errors: Array<{ code: string }> };
          if (body.errors[0]?.code !== 'UNAUTHORIZED') failures.push(`${caller}: body ${JSON.stringify(body)}`);
        }
        const intact = [
          await t.open.head(`/v2/${R}/manifests/${cell.tag}`),
          await t.open.head(`/v2/${R}/manifests/${cell.image.digest}`),
          await t.open.head(`/v2/${R}/blobs/${sha256(cell.image.layers[0]!)}`),
          await t.open.get(cell.upload.path),
        ].map((r) => r.status);
        if (intact.join() !== '200,200,200,204') failures.push(`${caller}: a refused request changed something (${intact.join()})`);
      }
      expect(failures, failures.join('\n')).toEqual([]);
    });
  }

  it('the challenge names the scope each route needs', async () => {
    const cell = await freshCell();
    const challenge = async (method: string, p: string) => (await t.send(method, p)).headers.get('www-authenticate');
    expect(await challenge('GET', '/v2/')).toBe('Bearer realm="http://localhost/token",service="cirrus"');
    expect(await challenge('GET', '/v2/_catalog')).toBe('Bearer realm="http://localhost/token",service="cirrus",scope="registry:catalog:*"');
    expect(await challenge('GET', `/v2/${R}/tags/list`)).toContain(`scope="repository:${R}:pull"`);
    expect(await challenge('PUT', `/v2/${R}/manifests/x`)).toContain(`scope="repository:${R}:pull,push"`);
    expect(await challenge('DELETE', `/v2/${R}/manifests/${cell.image.digest}`)).toContain(`scope="repository:${R}:delete"`);
    expect(await challenge('POST', `/v2/${R}/blobs/uploads/?mount=${cell.teamBlob}&from=team/src`)).toContain(
      `scope="repository:${R}:pull,push repository:team/src:pull"`,
    );
    // A valid token that lacks the scope: RFC 6750's insufficient_scope.
    const reader = await t.send('PUT', `/v2/${R}/manifests/x`, { token: tokens.get('reader') });
    expect(reader.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    const expired = await t.send('GET', `/v2/${R}/tags/list`, { token: tokens.get('expired') });
    expect(expired.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('the realm is built from CIRRUS_PUBLIC_URL when set', async () => {
    const other = await createAuthTestApp({ publicUrl: 'https://registry.example.com' });
    try {
      expect((await other.send('GET', '/v2/')).headers.get('www-authenticate')).toBe('Bearer realm="https://registry.example.com/token",service="cirrus"');
    } finally {
      await other.close();
    }
  });

  it('Basic credentials on /v2 are refused with the challenge', async () => {
    const basic = `Basic ${Buffer.from('will:will-password').toString('base64')}`;
    const res = await t.send('GET', `/v2/${R}/tags/list`, { headers: { Authorization: basic } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
  });

  it('_catalog lists only what the caller may pull', async () => {
    await t.open.pushImage('pub/tool', 'v1');
    await t.open.pushImage('other/thing', 'v1');
    await t.open.pushImage('busybox', 'v1');
    const list = async (caller: Caller) => {
      const res = await t.send('GET', '/v2/_catalog', { token: tokens.get(caller) });
      expect(res.status).toBe(200);
      return ((await res.json()) as { repositories: string[] }).repositories;
    };
    expect(await list('anonymous')).toEqual(['pub/tool']);
    // (team/src and other/src only hold blobs: the catalog lists repositories with manifests.)
    expect(await list('reader')).toEqual(['pub/tool', 'team/app']);
    expect(await list('otherWriter')).toEqual(['other/thing', 'pub/tool']);
    expect(await list('admin')).toEqual(['busybox', 'other/thing', 'pub/tool', 'team/app']);
  });

  it('anonymous pull works only where the project allows it; one-segment names belong to library', async () => {
    const pub = await t.open.pushImage('pub/tool', 'v2');
    const anon = await t.token(undefined, undefined, ['repository:pub/tool:pull,push', `repository:${R}:pull`, 'repository:busybox:pull']);
    expect((await t.send('GET', `/v2/pub/tool/manifests/v2`, { token: anon })).status).toBe(200);
    expect((await t.send('HEAD', `/v2/pub/tool/blobs/${sha256(pub.config)}`, { token: anon })).status).toBe(200);
    expect((await t.send('PUT', `/v2/pub/tool/manifests/v3`, { token: anon, body: pub.bytes })).status).toBe(401);
    expect((await t.send('GET', `/v2/${R}/tags/list`, { token: anon })).status).toBe(401);
    expect((await t.send('GET', `/v2/busybox/tags/list`, { token: anon })).status).toBe(401);

    await t.account('libby', 'libby-password', { library: 'reader' });
    const libby = await t.token('libby', 'libby-password', ['repository:busybox:pull', `repository:${R}:pull`]);
    expect((await t.send('GET', '/v2/busybox/tags/list', { token: libby })).status).toBe(200);
    expect((await t.send('GET', `/v2/${R}/tags/list`, { token: libby })).status).toBe(401);
  });
});
