/**
 * The upload service's host (functions/registry/node-host.ts) on a real socket: health check
 * before the lock, the lock, a streamed body of unknown length (what Lambda cannot take).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, type AppDeps } from '../../core/http/index.ts';
import { createNodeHost } from '../../functions/registry/node-host.ts';
import { staticOriginLock } from '../../functions/registry/origin-lock.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { ORIGIN_SECRET, VIEWER_HOST } from './support.ts';

let t: TestApp;
let server: Server;
let base: string;
beforeAll(async () => {
  t = await createTestApp({ settings: { hashMode: 'resumable' } });
  // As infra configures it: behind its load balancer the service is told the viewers' URL.
  const deps: AppDeps = { registry: t.registry, log: silentLogger, http: { publicUrl: `https://${VIEWER_HOST}` } };
  server = createServer(createNodeHost({ deps: async () => deps, originLock: staticOriginLock([ORIGIN_SECRET]), log: silentLogger }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await t?.close();
});

const viaCloudFront = { 'x-cirrus-origin-secret': ORIGIN_SECRET, 'x-cirrus-host': VIEWER_HOST };

describe('upload service host', () => {
  it('answers the load balancer health check without the secret', async () => {
    const r = await fetch(`${base}/healthz`);
    expect(r.status).toBe(200);
  });

  it('refuses requests without the origin secret: 403 DENIED', async () => {
    const r = await fetch(`${base}/v2/team/app/blobs/uploads/`, { method: 'POST' });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('DENIED');
  });

  it('takes a streamed body of unknown length, and builds URLs on the viewers\' URL', async () => {
    const blob = randomBytes(9 * 1024 * 1024);
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const start = await fetch(`${base}/v2/team/app/blobs/uploads/`, { method: 'POST', headers: viaCloudFront });
    expect(start.status).toBe(202);
    const location = new URL(start.headers.get('location')!);
    expect(location.host).toBe(VIEWER_HOST);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < blob.length; at += 1024 * 1024) controller.enqueue(blob.subarray(at, at + 1024 * 1024));
        controller.close();
      },
    });
    const patch = await fetch(`${base}${location.pathname}`, { method: 'PATCH', body: stream, duplex: 'half', headers: viaCloudFront } as RequestInit);
    expect(patch.status, await patch.clone().text()).toBe(202);
    const next = new URL(patch.headers.get('location')!);
    const done = await fetch(`${base}${next.pathname}?digest=${digest}`, { method: 'PUT', headers: viaCloudFront });
    expect(done.status, await done.clone().text()).toBe(201);
    expect(done.headers.get('location')).toBe(`https://${VIEWER_HOST}/v2/team/app/blobs/${digest}`);
  });
});
