/**
 * The local host runs the edge handler in front of the app, as CloudFront does: with access
 * control on, the edge answers the challenge and logs its denials; a token from /token passes it
 * and the app; /metrics serves Prometheus text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';

let host: RunningRegistry;
beforeAll(async () => {
  host = await startLocalHost({ env: { CIRRUS_AUTH: 'on', CIRRUS_ADMIN_PASSWORD: 'correct horse battery staple' } });
});
afterAll(async () => {
  await host?.stop();
});

describe('local host with the edge in front', () => {
  it('answers the challenge at the edge, logs the denial (not audited), and lets a token through', async () => {
    const ping = await fetch(`${host.url}/v2/`);
    expect(ping.status).toBe(401);
    expect(ping.headers.get('www-authenticate')).toBe(`Bearer realm="${host.url}/token",service="cirrus"`);

    const denied = await fetch(`${host.url}/v2/team/app/tags/list`, { headers: { 'X-Cirrus-Token': 'forged', 'X-Cirrus-Principal': 'admin' } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toContain('scope="repository:team/app:pull"');
    await expect.poll(() => host.output()).toMatch(/"event":"edge-denied".*"reason":"no token"/);

    const basic = Buffer.from('admin:correct horse battery staple').toString('base64');
    const issued = await fetch(`${host.url}/token?service=cirrus&scope=repository:team/app:pull,push`, { headers: { Authorization: `Basic ${basic}` } });
    expect(issued.status).toBe(200);
    const { token } = (await issued.json()) as { token: string };
    const listed = await fetch(`${host.url}/v2/team/app/tags/list`, { headers: { Authorization: `Bearer ${token}` } });
    expect([200, 404]).toContain(listed.status);
    expect(listed.headers.get('content-type')).toMatch(/json/);
    const upload = await fetch(`${host.url}/v2/team/app/blobs/uploads/`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    expect(upload.status).toBe(202);
    expect(upload.headers.get('location')).toMatch(new RegExp(`^${host.url}/v2/team/app/blobs/uploads/`));
  });

  it('serves Prometheus metrics at /metrics', async () => {
    const res = await fetch(`${host.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^# TYPE cirrus_http_requests_total counter$/m);
    expect(text).toMatch(/^cirrus_http_requests_total\{method="POST",route="upload-start",status="202"\} 1$/m);
    expect(text).toMatch(/^cirrus_upload_sessions_started_total 1$/m);
    expect(text).toMatch(/^cirrus_http_request_duration_seconds_bucket\{route="token",le="\+Inf"\} 1$/m);
  });
});
