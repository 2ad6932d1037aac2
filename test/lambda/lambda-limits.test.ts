/**
 * CIRRUS_LAMBDA_LIMITS=1: the local host refuses what Lambda could not take, so tests prove the
 * AWS topology. A 64 MiB blob pushed in chunks of at most 4 MiB goes through; the same blob
 * pushed in one body is refused with 413 SIZE_INVALID and a message saying how to chunk.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';

const MiB = 1024 * 1024;
const blob = randomBytes(64 * MiB);
const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;

let host: RunningRegistry;
beforeAll(async () => {
  host = await startLocalHost({ env: { CIRRUS_LAMBDA_LIMITS: '1' } });
});
afterAll(async () => {
  await host?.stop();
});

describe('CIRRUS_LAMBDA_LIMITS=1', () => {
  it('accepts a 64 MiB blob pushed in 4 MiB chunks', async () => {
    const start = await fetch(`${host.url}/v2/models/weights/blobs/uploads/`, { method: 'POST' });
    expect(start.status).toBe(202);
    let location = new URL(start.headers.get('location')!, host.url).toString();
    const chunk = 4 * MiB;
    for (let offset = 0; offset < blob.length; offset += chunk) {
      const body = blob.subarray(offset, offset + chunk);
      const res = await fetch(location, {
        method: 'PATCH',
        body,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + body.length - 1}` },
      });
      expect(res.status, await res.clone().text()).toBe(202);
      expect(res.headers.get('range')).toBe(`0-${offset + body.length - 1}`);
      location = new URL(res.headers.get('location')!, host.url).toString();
    }
    const done = await fetch(`${location}${location.includes('?') ? '&' : '?'}digest=${digest}`, { method: 'PUT' });
    expect(done.status).toBe(201);
    expect(done.headers.get('docker-content-digest')).toBe(digest);

    const pulled = await fetch(`${host.url}/v2/models/weights/blobs/${digest}`);
    expect(pulled.status).toBe(200);
    const bytes = Buffer.from(await pulled.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(digest.slice('sha256:'.length));
  });

  it('refuses the same blob in one monolithic body with 413 SIZE_INVALID and a chunking hint', async () => {
    const res = await fetch(`${host.url}/v2/models/other/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      body: blob,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { errors: Array<{ code: string; message: string }> };
    expect(body.errors[0]?.code).toBe('SIZE_INVALID');
    expect(body.errors[0]?.message).toMatch(/push in chunks/);
    expect((await fetch(`${host.url}/v2/models/other/blobs/${digest}`, { method: 'HEAD' })).status).toBe(404);
  });

  it('refuses a streamed PATCH of unknown length with 413', async () => {
    const start = await fetch(`${host.url}/v2/models/streamed/blobs/uploads/`, { method: 'POST' });
    const location = new URL(start.headers.get('location')!, host.url).toString();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(blob.subarray(0, MiB));
        controller.close();
      },
    });
    const res = await fetch(location, { method: 'PATCH', body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe('SIZE_INVALID');
  });
});
