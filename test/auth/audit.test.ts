// The audit trail: every write and every denial at the origin, with who, action, repository,
// digest, result, time and source address, in the table (newest first, paged across days) and as a
// log line.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Audit } from '../../core/auth/index.ts';
import { sha256 } from '../support/app.ts';
import { createAuthTestApp, type AuthTestApp } from '../support/auth-app.ts';

const ADDRESS = '192.0.2.10';
let t: AuthTestApp;
let token: string;
let reader: string;

beforeAll(async () => {
  t = await createAuthTestApp();
  await t.account('pat', 'pat-password', { team: 'admin' });
  await t.account('rita', 'rita-password', { team: 'reader' });
  token = await t.token('pat', 'pat-password', ['repository:team/app:pull,push,delete', 'repository:team/src:pull']);
  reader = await t.token('rita', 'rita-password', ['repository:team/app:pull,push,delete']);
});
afterAll(() => t.close());

/** Sends as pat from ADDRESS, with the clock one ms on, so events have distinct times. */
const send = (method: string, path: string, init: { headers?: Record<string, string>; body?: Uint8Array | string; token?: string } = {}) => {
  t.clock.now += 1;
  return t.send(method, path, { token, address: ADDRESS, ...init });
};
const latest = async () => (await t.auth.audit.list({ limit: 1 })).events[0];

describe('writes are audited with their outcome', () => {
  it('monolithic upload, session upload finish, mount, manifest PUT, tag DELETE, manifest DELETE, blob DELETE', async () => {
    const layer = randomBytes(200);
    const layerDigest = sha256(layer);
    expect((await send('POST', `/v2/team/app/blobs/uploads/?digest=${layerDigest}`, { body: layer, headers: { 'Content-Type': 'application/octet-stream' } })).status).toBe(201);
    expect(await latest()).toMatchObject({ who: 'pat', action: 'blob.upload', result: 'ok', status: 201, repository: 'team/app', digest: layerDigest, source: ADDRESS, at: t.clock.now });

    const config = randomBytes(100);
    const start = await send('POST', '/v2/team/app/blobs/uploads/');
    expect(start.status).toBe(202);
    expect((await latest())?.action).toBe('blob.upload'); // starting a session is not a write
    const location = new URL(start.headers.get('location')!).pathname;
    expect((await send('PUT', `${location}?digest=${sha256(config)}`, { body: config, headers: { 'Content-Type': 'application/octet-stream' } })).status).toBe(201);
    expect(await latest()).toMatchObject({ action: 'blob.upload', result: 'ok', digest: sha256(config) });

    const shared = await t.open.pushBlob('team/src', randomBytes(50));
    expect((await send('POST', `/v2/team/app/blobs/uploads/?mount=${shared}&from=team/src`)).status).toBe(201);
    expect(await latest()).toMatchObject({ action: 'blob.mount', result: 'ok', repository: 'team/app', digest: shared, detail: { from: 'team/src' } });

    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
    });
    const put = await send('PUT', '/v2/team/app/manifests/v1', { body: manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    expect(put.status).toBe(201);
    const manifestDigest = put.headers.get('docker-content-digest')!;
    expect(await latest()).toMatchObject({ action: 'manifest.put', result: 'ok', repository: 'team/app', digest: manifestDigest, detail: { tag: 'v1' } });

    expect((await send('DELETE', '/v2/team/app/manifests/v1')).status).toBe(202);
    expect(await latest()).toMatchObject({ action: 'tag.delete', result: 'ok', detail: { tag: 'v1' } });
    expect((await send('DELETE', `/v2/team/app/manifests/${manifestDigest}`)).status).toBe(202);
    expect(await latest()).toMatchObject({ action: 'manifest.delete', result: 'ok', digest: manifestDigest });
    expect((await send('DELETE', `/v2/team/app/blobs/${layerDigest}`)).status).toBe(202);
    expect(await latest()).toMatchObject({ action: 'blob.delete', result: 'ok', digest: layerDigest });
  });

  it('a write that fails is audited as failed, with its status', async () => {
    const res = await send('PUT', '/v2/team/app/manifests/broken', { body: '{"nope":', headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    expect(res.status).toBe(400);
    expect(await latest()).toMatchObject({ who: 'pat', action: 'manifest.put', result: 'failed', status: 400, detail: { tag: 'broken' } });
  });

  it('reads are not audited', async () => {
    const before = await latest();
    await send('GET', '/v2/team/app/tags/list');
    await send('GET', '/v2/');
    expect(await latest()).toEqual(before);
  });
});

describe('denials are audited', () => {
  it('insufficient scope, no token, a bad token; but not the bare GET /v2/ every client starts with', async () => {
    expect((await send('DELETE', '/v2/team/app/manifests/v1', { token: reader })).status).toBe(401);
    expect(await latest()).toMatchObject({ who: 'rita', action: 'delete', result: 'denied', status: 401, repository: 'team/app', reason: 'insufficient scope', source: ADDRESS });

    t.clock.now += 1;
    expect((await t.send('GET', '/v2/team/app/tags/list', { address: ADDRESS })).status).toBe(401);
    expect(await latest()).toMatchObject({ who: 'anonymous', action: 'pull', result: 'denied', reason: 'no token' });

    expect((await send('GET', '/v2/_catalog', { token: 'x.y.z' })).status).toBe(401);
    expect(await latest()).toMatchObject({ who: 'anonymous', action: 'catalog', result: 'denied', reason: 'token malformed' });

    const before = await latest();
    t.clock.now += 1;
    expect((await t.send('GET', '/v2/', { address: ADDRESS })).status).toBe(401);
    expect(await latest()).toEqual(before);
  });

  it('each event is also a log line', () => {
    expect(t.logged.length).toBeGreaterThan(5);
    expect(t.logged.at(-1)).toMatchObject({ action: 'catalog', result: 'denied' });
  });
});

describe('Audit.list', () => {
  it('pages newest first across days, empty days costing nothing', async () => {
    const clock = { now: Date.UTC(2030, 0, 1, 12) };
    const audit = new Audit({ table: t.table, now: () => clock.now });
    const day = 86_400_000;
    const times = [0, 1, 2, day, day + 1, 5 * day, 5 * day + 7, 9 * day].map((d) => Date.UTC(2031, 0, 1) + d);
    for (const [i, at] of times.entries()) await audit.record({ at, who: 'x', action: `a${i}`, result: 'ok' });
    const all: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await audit.list({ limit: 3, after });
      all.push(...page.events.filter((e) => e.who === 'x').map((e) => e.action));
      after = page.next;
      pages++;
    } while (after !== undefined && pages < 20);
    expect(all.slice(0, times.length)).toEqual(['a7', 'a6', 'a5', 'a4', 'a3', 'a2', 'a1', 'a0']);
    await expect(audit.list({ after: 'garbage' })).rejects.toThrow(RangeError);
  });
});
