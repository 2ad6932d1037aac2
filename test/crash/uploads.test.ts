// kill -9 of the local host while a chunk of a chunked upload is in flight, then a restart over the
// same data dir. The session must either resume from its last acknowledged offset or be cleanly
// unknown (404 BLOB_UPLOAD_UNKNOWN); with CIRRUS_HASH_MODE=resumable it must resume. Either way the
// blob, once pushed, must be exactly the bytes sent.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../../core/registry/index.ts';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { cleanUp, makeTempDir, removeTree } from '../support/tmp.ts';
import { head, rawExchange, sleep, write } from '../hostile/raw-http.ts';
import { expectOciError, sha256, withDeadline } from './support.ts';

const MiB = 1024 * 1024;
const REPO = 'crash/upload';
// 6 MiB becomes part 1 (parts are ≥ 5 MiB), 1 MiB is staged; the chunk in flight (4 MiB) would have
// made part 2 with it; the last 3 MiB come with the closing PUT.
const BLOB = randomBytes(14 * MiB);
const CHUNKS: Array<[start: number, end: number]> = [
  [0, 6 * MiB],
  [6 * MiB, 7 * MiB],
  [7 * MiB, 11 * MiB],
  [11 * MiB, 14 * MiB],
];
const ACKED = 7 * MiB;
// A request killed mid-body leaves its write lease behind; another request may take it over once it
// is stale, so resuming can take up to the lease time.
const LEASE_MS = defaultSettings.writeLeaseMs;

const hosts: RunningRegistry[] = [];
const dirs: string[] = [];
afterAll(() => cleanUp(...hosts.map((h) => () => h.stop()), ...dirs.map((d) => () => removeTree(d))));

async function start(dataDir: string, hashMode: string): Promise<RunningRegistry> {
  const host = await startLocalHost({ dataDir, env: { CIRRUS_HASH_MODE: hashMode, CIRRUS_LOG_REQUESTS: '0' } });
  hosts.push(host);
  return host;
}

function patch(url: string, [start, end]: [number, number]): Promise<Response> {
  return fetch(url, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${start}-${end - 1}` },
    body: BLOB.subarray(start, end),
    signal: AbortSignal.timeout(30_000),
  });
}

/** Two chunks acknowledged, a third half-sent when the host is killed; returns the session path. */
async function crashMidChunk(host: RunningRegistry): Promise<string> {
  const started = await withDeadline(fetch(`${host.url}/v2/${REPO}/blobs/uploads/`, { method: 'POST' }));
  expect(started.status).toBe(202);
  const path = new URL(started.headers.get('location')!, host.url).pathname;
  for (const chunk of CHUNKS.slice(0, 2)) {
    const res = await patch(host.url + path, chunk);
    expect(res.status).toBe(202);
    expect(res.headers.get('range')).toBe(`0-${chunk[1] - 1}`);
  }
  const [start, end] = CHUNKS[2]!;
  const exchange = await rawExchange(
    host.port,
    async (socket) => {
      const headers = { 'Content-Type': 'application/octet-stream', 'Content-Range': `${start}-${end - 1}`, 'Content-Length': end - start };
      await write(socket, head('PATCH', path, headers, host.port));
      await write(socket, BLOB.subarray(start, start + 2 * MiB));
      await sleep(300); // the server is now streaming this chunk into part 2
      await host.kill9();
    },
    { deadlineMs: 30_000 },
  );
  expect(exchange.responses).toEqual([]);
  return path;
}

/** GET status, then PATCH the rest from the offset it reports (waiting out the dead lease), then PUT. */
async function resume(host: RunningRegistry, path: string): Promise<void> {
  const status = await withDeadline(fetch(host.url + path));
  expect(status.status).toBe(204);
  expect(status.headers.get('range')).toBe(`0-${ACKED - 1}`);
  const deadline = performance.now() + LEASE_MS + 10_000;
  let res: Response;
  for (;;) {
    res = await patch(host.url + path, CHUNKS[2]!);
    if (res.status !== 416 || performance.now() > deadline) break;
    // Only the dead request's lease may stand in the way: the offset is still the acknowledged one.
    expect(res.headers.get('range')).toBe(`0-${ACKED - 1}`);
    await expectOciError(res, 416, 'BLOB_UPLOAD_INVALID');
    await sleep(500);
  }
  expect(res.status).toBe(202);
  expect(res.headers.get('range')).toBe(`0-${CHUNKS[2]![1] - 1}`);
  const [start, end] = CHUNKS[3]!;
  const put = await withDeadline(
    fetch(`${host.url}${path}?digest=${sha256(BLOB)}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${start}-${end - 1}` },
      body: BLOB.subarray(start, end),
    }),
  );
  expect(put.status).toBe(201);
}

async function expectBlob(host: RunningRegistry): Promise<void> {
  const res = await withDeadline(fetch(`${host.url}/v2/${REPO}/blobs/${sha256(BLOB)}`));
  expect(res.status).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  expect(bytes.length).toBe(BLOB.length);
  expect(sha256(bytes)).toBe(sha256(BLOB));
}

/** A whole new chunked push of the blob, as a client does after its session was lost. */
async function pushAgain(host: RunningRegistry): Promise<void> {
  const started = await withDeadline(fetch(`${host.url}/v2/${REPO}/blobs/uploads/`, { method: 'POST' }));
  const path = new URL(started.headers.get('location')!, host.url).pathname;
  for (const chunk of CHUNKS.slice(0, 3)) expect((await patch(host.url + path, chunk)).status).toBe(202);
  const [start, end] = CHUNKS[3]!;
  const put = await fetch(`${host.url}${path}?digest=${sha256(BLOB)}`, {
    method: 'PUT',
    headers: { 'Content-Range': `${start}-${end - 1}` },
    body: BLOB.subarray(start, end),
    signal: AbortSignal.timeout(30_000),
  });
  expect(put.status).toBe(201);
}

describe('kill -9 during a chunked upload, then a restart over the same data dir', () => {
  it('CIRRUS_HASH_MODE=resumable: the session resumes from its last acknowledged offset and the blob verifies', async () => {
    const dataDir = await makeTempDir('crash-up');
    dirs.push(dataDir);
    const path = await crashMidChunk(await start(dataDir, 'resumable'));
    const host = await start(dataDir, 'resumable');
    await resume(host, path);
    await expectBlob(host);
  }, LEASE_MS + 60_000);

  it('CIRRUS_HASH_MODE=fast (default): the session resumes, or is cleanly unknown and a new push succeeds', async () => {
    const dataDir = await makeTempDir('crash-up');
    dirs.push(dataDir);
    const path = await crashMidChunk(await start(dataDir, 'fast'));
    const host = await start(dataDir, 'fast');
    const status = await withDeadline(fetch(host.url + path));
    if (status.status === 204) {
      await resume(host, path);
    } else {
      // The hash of the acknowledged bytes lived in the dead process: the session cannot go on.
      await expectOciError(status, 404, 'BLOB_UPLOAD_UNKNOWN');
      await expectOciError(await patch(host.url + path, CHUNKS[2]!), 404, 'BLOB_UPLOAD_UNKNOWN');
      const put = await withDeadline(fetch(`${host.url}${path}?digest=${sha256(BLOB)}`, { method: 'PUT' }));
      await expectOciError(put, 404, 'BLOB_UPLOAD_UNKNOWN');
      expect((await withDeadline(fetch(`${host.url}/v2/${REPO}/blobs/${sha256(BLOB)}`, { method: 'HEAD' }))).status).toBe(404);
      await pushAgain(host);
    }
    await expectBlob(host);
  }, LEASE_MS + 60_000);
});
