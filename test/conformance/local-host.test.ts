// The local host as a process: data survives restarts, SIGTERM drains in-flight uploads without
// leaving partial blobs, and every request is logged as one JSON line.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import { sha256 } from '../support/app.ts';
import { expectSignedLocation, onAws } from '../support/backend.ts';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { expectBlob, hostClient } from './host.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function ownDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cirrus-lifecycle-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function start(dataDir: string, env?: Record<string, string>): Promise<RunningRegistry> {
  const host = await startLocalHost({ dataDir, env });
  cleanups.push(() => host.stop());
  return host;
}

/** SIGTERM through the harness and the exit status it ends with. */
async function stopCleanly(host: RunningRegistry): Promise<void> {
  await host.stop();
  expect(host.exitStatus()).toEqual({ code: 0, signal: null });
}

describe('restarts', () => {
  it('data survives a restart: the same manifest, blob bytes and listings; old signed URLs still work', async () => {
    const dataDir = await ownDataDir();
    const first = await start(dataDir);
    const image = await hostClient(first.url).pushImage('life/persist', 'v1', { layers: 2 });
    const before = await fetch(`${first.url}/v2/life/persist/blobs/${sha256(image.layers[0]!)}`, { redirect: 'manual' });
    const signedPath = before.headers.get('location')!;
    await stopCleanly(first);

    const second = await start(dataDir);
    const client = hostClient(second.url);
    const res = await client.get('/v2/life/persist/manifests/v1', { Accept: MediaType.ociManifest });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(image.bytes))).toBe(true);
    for (const blob of [image.config, ...image.layers]) await expectBlob(second.url, 'life/persist', sha256(blob), blob);
    expect(await (await client.get('/v2/_catalog')).json()).toEqual({ repositories: ['life/persist'] });
    expect(await (await client.get('/v2/life/persist/tags/list')).json()).toEqual({ name: 'life/persist', tags: ['v1'] });
    const old = await fetch(new URL(signedPath, second.url));
    expect(old.status).toBe(200);
    expect(Buffer.from(await old.arrayBuffer()).equals(image.layers[0]!)).toBe(true);
  });

  it('in the default (fast) hash mode, a session with bytes does not survive a restart: 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const dataDir = await ownDataDir();
    const first = await start(dataDir);
    const { location } = await hostClient(first.url).startUpload('life/fast');
    expect((await hostClient(first.url).patchChunk(location, randomBytes(1000), 0)).status).toBe(202);
    await stopCleanly(first);

    const second = await start(dataDir);
    const res = await hostClient(second.url).get(new URL(location).pathname);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { errors: Array<{ code: string; message: string }> };
    expect(body.errors[0]!.code).toBe('BLOB_UPLOAD_UNKNOWN');
    expect(body.errors[0]!.message).toMatch(/start the upload again/);
  });

  it('a chunked upload resumes across a restart in resumable hash mode', async () => {
    const dataDir = await ownDataDir();
    const env = { CIRRUS_HASH_MODE: 'resumable' };
    const bytes = randomBytes(300_000);
    const first = await start(dataDir, env);
    const { location } = await hostClient(first.url).startUpload('life/resume');
    expect((await hostClient(first.url).patchChunk(location, bytes.subarray(0, 100_000), 0)).status).toBe(202);
    await stopCleanly(first);

    const second = await start(dataDir, env);
    const client = hostClient(second.url);
    const path = new URL(location).pathname;
    const status = await client.get(path);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-99999');
    expect((await client.patchChunk(path, bytes.subarray(100_000), 100_000)).status).toBe(202);
    expect((await client.finishUpload(path, sha256(bytes))).status).toBe(201);
    await expectBlob(second.url, 'life/resume', sha256(bytes), bytes);
  });
});

/** A monolithic POST ?digest= whose body is written slowly; `onProgress` sees the bytes sent so far. */
function slowUpload(url: string, name: string, bytes: Uint8Array, onProgress: (sent: number, abort: () => void) => void) {
  return new Promise<{ status: number } | { error: string }>((resolve) => {
    const req = request(`${url}/v2/${name}/blobs/uploads/?digest=${sha256(bytes)}`, {
      method: 'POST',
      agent: false,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength), Connection: 'close' },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', (error) => resolve({ error: error.message }));
    const piece = 64 * 1024;
    let sent = 0;
    const abort = () => req.destroy(new Error('aborted by the test'));
    const tick = () => {
      if (req.destroyed) return;
      if (sent >= bytes.byteLength) return void req.end();
      req.write(bytes.subarray(sent, sent + piece));
      sent += piece;
      onProgress(Math.min(sent, bytes.byteLength), abort);
      setTimeout(tick, 15);
    };
    tick();
  });
}

/** After a restart, the blob is whole (200, right size, right bytes) or absent (404): never partial. */
async function wholeOrAbsent(url: string, name: string, bytes: Uint8Array): Promise<'whole' | 'absent'> {
  const head = await fetch(`${url}/v2/${name}/blobs/${sha256(bytes)}`, { method: 'HEAD' });
  if (head.status === 404) return 'absent';
  expect(head.status).toBe(200);
  expect(head.headers.get('content-length')).toBe(String(bytes.byteLength));
  await expectBlob(url, name, sha256(bytes), bytes);
  return 'whole';
}

describe('SIGTERM', () => {
  it('during a slow monolithic upload: exits 0, and the blob is whole or absent', async () => {
    const dataDir = await ownDataDir();
    const host = await start(dataDir);
    const finishing = randomBytes(4 * 1024 * 1024);
    const abandoned = randomBytes(3 * 1024 * 1024);
    let stopping: Promise<void> | undefined;
    let abortAbandoned = () => {};
    const abandonedOutcome = slowUpload(host.url, 'life/sigterm', abandoned, (_sent, abort) => (abortAbandoned = abort));
    const finishingOutcome = slowUpload(host.url, 'life/sigterm', finishing, (sent) => {
      if (sent < 1024 * 1024 || stopping) return;
      // A quarter of the way in: SIGTERM; the other client then gives up mid-body.
      stopping = host.stop();
      abortAbandoned();
    });
    const [finished, gaveUp] = await Promise.all([finishingOutcome, abandonedOutcome]);
    expect(stopping).toBeDefined();
    await stopping;
    expect(host.exitStatus()).toEqual({ code: 0, signal: null });
    expect(gaveUp).toHaveProperty('error');

    const again = await start(dataDir);
    const state = await wholeOrAbsent(again.url, 'life/sigterm', finishing);
    // An in-flight request is drained, not cut: the slow upload completes and its 201 holds.
    expect(finished).toEqual({ status: 201 });
    expect(state).toBe('whole');
    expect(await wholeOrAbsent(again.url, 'life/sigterm', abandoned)).toBe('absent');
  });
});

describe('request log', () => {
  it('writes one JSON line with method, path and status per request', async () => {
    const host = await start(await ownDataDir());
    const client = hostClient(host.url);
    const digest = await client.pushBlob('life/log', 'logged bytes');
    const sent: Array<{ method: string; path: string; status: number; id: string | null }> = [
      { method: 'POST', path: '/v2/life/log/blobs/uploads/', status: 201, id: null },
    ];
    const calls: Array<[string, string]> = [
      ['GET', '/v2/'],
      ['HEAD', `/v2/life/log/blobs/${digest}`],
      ['GET', `/v2/life/log/blobs/${digest}`],
      ['GET', '/v2/life/log/manifests/missing'],
      ['GET', '/v2/Bad/tags/list'],
      ['POST', '/v2/life/log/manifests/latest'],
      ['GET', '/v2/life/log/nowhere'],
      ['POST', '/v2/life/log/blobs/uploads/'],
    ];
    for (const [method, path] of calls) {
      const res = await client.send(method, path);
      sent.push({ method, path, status: res.status, id: res.headers.get('x-request-id') });
      await res.arrayBuffer();
      if (res.status === 307) {
        const location = res.headers.get('location')!;
        expectSignedLocation(location, host.url);
        const object = await fetch(new URL(location, host.url));
        await object.arrayBuffer();
        // The embedded store's signed URLs are the host's to serve (and log); S3's (aws-rgw) are RGW's.
        if (onAws) expect(object.status).toBe(200);
        else sent.push({ method: 'GET', path: '/_objects/…', status: object.status, id: null });
      }
    }
    const requestLines = () =>
      host
        .output()
        .split('\n')
        .filter((line) => line.startsWith('[stdout] {'))
        .map((line) => JSON.parse(line.slice('[stdout] '.length)) as Record<string, unknown>)
        .filter((event) => event.event === 'request');
    for (let i = 0; i < 100 && requestLines().length < sent.length; i++) await new Promise((r) => setTimeout(r, 20));
    const lines = requestLines();
    // A signed-object line is written once its file is streamed, so it may follow the next request's.
    const summary = (r: { method?: unknown; path?: unknown; status?: unknown }) => `${String(r.method)} ${String(r.path)} ${String(r.status)}`;
    expect(lines.map(summary).sort()).toEqual(sent.map(summary).sort());
    for (const line of lines) expect(typeof line.time).toBe('string');
    for (const { id, path } of sent.filter((s) => s.id)) {
      expect(lines.find((line) => line.requestId === id)?.path).toBe(path);
    }
  });
});
