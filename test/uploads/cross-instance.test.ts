/**
 * Chunks any instance can continue: two hosts over ONE store, hash state saved with the session
 * (CIRRUS_HASH_MODE=resumable), and the chunks of one upload alternated between them. The blob
 * must verify and pull byte-identical from either host. A host in `fast` mode cannot continue
 * another's session and says so cleanly. The one store: on embedded, one data dir (SQLite in WAL
 * mode and the same files); on aws-rgw, one table and one bucket on dynalite and Ceph RGW, the
 * hosts in CIRRUS_BACKEND=aws mode, as Lambdas share DynamoDB and S3.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onAws } from '../support/backend.ts';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { openSharedAwsStore } from '../support/test-stores.ts';
import { makeTempDir, removeTree } from '../support/tmp.ts';

const MiB = 1024 * 1024;

let dataDir: string;
let store: Awaited<ReturnType<typeof openSharedAwsStore>> | undefined;
let a: RunningRegistry;
let b: RunningRegistry;
let fast: RunningRegistry;

/** A host over the one store. */
function startHost(hashMode: 'resumable' | 'fast'): Promise<RunningRegistry> {
  return startLocalHost({ dataDir, env: { ...store?.env, CIRRUS_HASH_MODE: hashMode } });
}

beforeAll(async () => {
  dataDir = await makeTempDir('shared');
  if (onAws) store = await openSharedAwsStore();
  a = await startHost('resumable');
  b = await startHost('resumable');
  fast = await startHost('fast');
});
afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop(), fast?.stop()]);
  await store?.close();
  await removeTree(dataDir);
});

/** The upload path (no host), so the next chunk can go to another host. */
function pathOf(location: string, base: string): string {
  const url = new URL(location, base);
  return url.pathname + url.search;
}

describe('an upload continued by another instance', () => {
  it('alternates 3 MiB chunks of a 22 MiB blob between two hosts; the blob verifies on both', async () => {
    const blob = randomBytes(22 * MiB);
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const hosts = [a, b];
    const start = await fetch(`${a.url}/v2/shared/model/blobs/uploads/`, { method: 'POST' });
    expect(start.status).toBe(202);
    let path = pathOf(start.headers.get('location')!, a.url);
    const chunk = 3 * MiB;
    let turn = 1;
    for (let offset = 0; offset < blob.length; offset += chunk, turn++) {
      const host = hosts[turn % 2]!;
      const body = blob.subarray(offset, offset + chunk);
      const res = await fetch(host.url + path, {
        method: 'PATCH',
        body,
        headers: { 'Content-Range': `${offset}-${offset + body.length - 1}`, 'Content-Type': 'application/octet-stream' },
      });
      expect(res.status, await res.clone().text()).toBe(202);
      path = pathOf(res.headers.get('location')!, host.url);
      // The other host sees the same progress.
      const status = await fetch(hosts[(turn + 1) % 2]!.url + path);
      expect(status.status).toBe(204);
      expect(status.headers.get('range')).toBe(`0-${offset + body.length - 1}`);
    }
    const put = await fetch(`${hosts[turn % 2]!.url}${path}${path.includes('?') ? '&' : '?'}digest=${digest}`, { method: 'PUT' });
    expect(put.status, await put.clone().text()).toBe(201);
    for (const host of hosts) {
      const pulled = Buffer.from(await (await fetch(`${host.url}/v2/shared/model/blobs/${digest}`)).arrayBuffer());
      expect(pulled.equals(blob)).toBe(true);
    }
  });

  it('a fast-mode host answers BLOB_UPLOAD_UNKNOWN for a session whose hash lives elsewhere', async () => {
    const other = await startHost('fast');
    try {
      const start = await fetch(`${fast.url}/v2/shared/fast/blobs/uploads/`, { method: 'POST' });
      const path = pathOf(start.headers.get('location')!, fast.url);
      const first = await fetch(fast.url + path, { method: 'PATCH', body: randomBytes(MiB), headers: { 'Content-Range': `0-${MiB - 1}` } });
      expect(first.status).toBe(202);
      const res = await fetch(other.url + path, { method: 'PATCH', body: randomBytes(MiB), headers: { 'Content-Range': `${MiB}-${2 * MiB - 1}` } });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe('BLOB_UPLOAD_UNKNOWN');
    } finally {
      await other.stop();
    }
  });
});
