/**
 * A client that stops sending an upload body without closing its connection must not hold the
 * session's write lease for ever: after CIRRUS_BODY_IDLE_MS of silence the request is cut off,
 * the acknowledged offset is unchanged, and the client (or another) continues from there.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';

const IDLE_MS = 1000;
let host: RunningRegistry;
beforeAll(async () => {
  host = await startLocalHost({ env: { CIRRUS_BODY_IDLE_MS: String(IDLE_MS) } });
});
afterAll(async () => {
  await host?.stop();
});

describe('a stalled upload body', () => {
  it('is cut off after the idle timeout, and the upload continues from its acknowledged offset', async () => {
    const blob = randomBytes(3 * 1024 * 1024);
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const start = await fetch(`${host.url}/v2/stall/blob/blobs/uploads/`, { method: 'POST' });
    const path = new URL(start.headers.get('location')!, host.url).pathname;

    // Declare the whole blob, send a third of it, then go silent with the connection open.
    const socket = connect(host.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`PATCH ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${blob.length}\r\nContent-Range: 0-${blob.length - 1}\r\n\r\n`);
    socket.write(blob.subarray(0, 1024 * 1024));
    const closed = new Promise<number>((resolve) => {
      const began = Date.now();
      socket.once('close', () => resolve(Date.now() - began));
      socket.on('error', () => {});
      socket.resume();
    });
    const closedAfter = await closed;
    expect(closedAfter).toBeGreaterThanOrEqual(IDLE_MS * 0.9);
    expect(closedAfter).toBeLessThan(IDLE_MS * 10);

    const status = await fetch(host.url + path);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-0');
    const patch = await fetch(host.url + path, { method: 'PATCH', body: blob, headers: { 'Content-Range': `0-${blob.length - 1}` } });
    expect(patch.status, await patch.clone().text()).toBe(202);
    const put = await fetch(`${host.url}${path}?digest=${digest}`, { method: 'PUT' });
    expect(put.status).toBe(201);
  });
});
