// The conformance suites with access control on (OCI_USERNAME/OCI_PASSWORD): a client asks for
// the scope the challenge names and nothing more. A mount without `from` (the redesigned suite's
// "mount anonymous", v1.1.1's OCI_AUTOMATIC_CROSSMOUNT) then holds a token for the target alone,
// and must still find the blob in a repository its holder may pull from.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { randomBlob } from './upstream-api.ts';

const ADMIN_PASSWORD = 'conformance-admin-password';
const REPO = 'conformance/repo1';
const REPO2 = 'conformance/repo2';

let host: RunningRegistry;
beforeAll(async () => {
  host = await startLocalHost({ env: { CIRRUS_AUTH: 'on', CIRRUS_ADMIN_PASSWORD: ADMIN_PASSWORD } });
});
afterAll(() => host?.stop());

const basic = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;

async function tokenFor(realm: string, service: string, scope: string | undefined): Promise<string> {
  const url = new URL(realm);
  url.searchParams.set('service', service);
  if (scope) url.searchParams.set('scope', scope);
  return ((await (await fetch(url, { headers: { Authorization: basic } })).json()) as { token: string }).token;
}

/** As the suites do: the request, and on 401 a token for the challenge's scope, then the request again. */
async function send(method: string, path: string, body?: Uint8Array): Promise<Response> {
  const init = (auth?: string): RequestInit => ({
    method,
    headers: { ...(auth ? { Authorization: auth } : {}), ...(body ? { 'Content-Type': 'application/octet-stream' } : {}) },
    body,
    redirect: 'manual',
  });
  const first = await fetch(new URL(path, host.url), init());
  if (first.status !== 401) return first;
  const challenge = first.headers.get('www-authenticate') ?? '';
  const param = (key: string) => new RegExp(`${key}="([^"]+)"`).exec(challenge)?.[1];
  return fetch(new URL(path, host.url), init(`Bearer ${await tokenFor(param('realm')!, param('service')!, param('scope'))}`));
}

describe('mounts, access control on', () => {
  it('a blob of repo2 is mounted into repo1 with a token for repo1 only → 201', async () => {
    const { digest, bytes } = randomBlob(512);
    expect((await send('POST', `/v2/${REPO2}/blobs/uploads/?digest=${digest}`, bytes)).status).toBe(201);
    const res = await send('POST', `/v2/${REPO}/blobs/uploads/?mount=${digest}`);
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`${host.url}/v2/${REPO}/blobs/${digest}`);
    expect((await send('HEAD', `/v2/${REPO}/blobs/${digest}`)).status).toBe(200);
  });

  // The redesigned suite caches a token per repository and method: its mount from repo2 reuses
  // the token of an earlier POST to repo1, which names repo1 alone.
  it('a mount with from=repo2 under a token for repo1 only → 201', async () => {
    const { digest, bytes } = randomBlob(512);
    expect((await send('POST', `/v2/${REPO2}/blobs/uploads/?digest=${digest}`, bytes)).status).toBe(201);
    const token = await tokenFor(`${host.url}/token`, 'cirrus', `repository:${REPO}:pull,push`);
    const res = await fetch(`${host.url}/v2/${REPO}/blobs/uploads/?mount=${digest}&from=${REPO2}`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(201);
  });

  it('a blob nobody has → 202, an upload session', async () => {
    const { digest } = randomBlob(512);
    expect((await send('POST', `/v2/${REPO}/blobs/uploads/?mount=${digest}`)).status).toBe(202);
  });
});
