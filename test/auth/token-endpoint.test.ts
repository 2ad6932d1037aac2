// /token: GET with Basic credentials or none, POST with the OAuth2 password and refresh_token
// grants; the granted access is the allowed subset of what was asked, never more; failed logins are
// audited and throttled per account and per source address (429 with Retry-After).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthTestApp, claimsOf, type AuthTestApp } from '../support/auth-app.ts';

const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const form = (fields: Record<string, string>) => ({
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

let t: AuthTestApp;
beforeAll(async () => {
  t = await createAuthTestApp({
    settings: {
      throttle: { perAccount: { maxFailures: 3, windowSeconds: 60 }, perAddress: { maxFailures: 6, windowSeconds: 120 } },
    },
  });
  await t.auth.projects.create('pub', { anonymousPull: true });
  await t.account('admin', 'admin-password');
  await t.account('rita', 'rita-password', { team: 'reader' });
  await t.account('will', 'will-password', { team: 'writer' });
});
afterAll(() => t.close());

describe('GET /token', () => {
  it('issues an ES256 JWT with iss, sub, aud, exp (5 min), nbf, iat, jti and the granted access', async () => {
    const res = await t.send('GET', '/token?service=cirrus&scope=repository:team/app:pull,push&scope=registry:catalog:*', { headers: basic('will', 'will-password') });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.token).toBe(body.access_token);
    expect(body.expires_in).toBe(300);
    expect(Date.parse(body.issued_at as string)).toBeGreaterThan(Date.now() - 60_000);
    expect(body).not.toHaveProperty('refresh_token');
    const header = JSON.parse(Buffer.from((body.token as string).split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
    expect(header).toMatchObject({ alg: 'ES256', typ: 'JWT', kid: t.key.kid });
    const c = claimsOf(body.token as string);
    expect(c).toMatchObject({ iss: 'cirrus', sub: 'will', aud: 'cirrus' });
    expect((c.exp as number) - (c.iat as number)).toBe(300);
    expect(c.nbf).toBe(c.iat);
    expect(typeof c.jti).toBe('string');
    expect(c.access).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });

  it('grants the allowed subset, never more: a reader asking for push and delete gets pull', async () => {
    const token = await t.token('rita', 'rita-password', ['repository:team/app:pull,push,delete', 'repository:other/app:pull', 'repository:team/x:*']);
    expect(claimsOf(token).access).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull'] },
      { type: 'repository', name: 'team/x', actions: ['pull'] },
    ]);
  });

  it('takes repeated and space-separated scopes, ignores malformed ones and unknown types', async () => {
    const res = await t.send('GET', `/token?scope=${encodeURIComponent('repository:team/a:pull repository:team/b:pull')}&scope=repository:team/c:push&scope=nonsense&scope=widget:x:pull&scope=repository:BAD NAME:pull`, {
      headers: basic('will', 'will-password'),
    });
    const { token } = (await res.json()) as { token: string };
    expect(claimsOf(token).access).toEqual([
      { type: 'repository', name: 'team/a', actions: ['pull'] },
      { type: 'repository', name: 'team/b', actions: ['pull'] },
      { type: 'repository', name: 'team/c', actions: ['push'] },
    ]);
  });

  it('without credentials issues an anonymous token with only what anonymous may do', async () => {
    const token = await t.token(undefined, undefined, ['repository:pub/tool:pull,push', 'repository:team/app:pull', 'registry:catalog:*']);
    const c = claimsOf(token);
    expect(c.sub).toBe('');
    expect(c.access).toEqual([
      { type: 'repository', name: 'pub/tool', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });

  it('the system administrator gets every action, anywhere', async () => {
    const token = await t.token('admin', 'admin-password', ['repository:anything/at/all:*']);
    expect(claimsOf(token).access).toEqual([{ type: 'repository', name: 'anything/at/all', actions: ['pull', 'push', 'delete'] }]);
  });

  it('offline_token=true adds a refresh token', async () => {
    const res = await t.send('GET', '/token?offline_token=true', { headers: basic('will', 'will-password') });
    expect(((await res.json()) as Record<string, unknown>).refresh_token).toEqual(expect.any(String));
  });

  it('refuses wrong credentials, unknown accounts and malformed Basic headers with 401, audited', async () => {
    for (const headers of [basic('will', 'wrong-password'), basic('nobody', 'whatever-pass'), { Authorization: 'Basic !!!' }, { Authorization: 'Bearer abc' }]) {
      const res = await t.send('GET', '/token?scope=repository:team/app:pull', { headers, address: '192.0.2.50' });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('UNAUTHORIZED');
    }
    const events = (await t.auth.audit.list({ limit: 10 })).events.filter((e) => e.action === 'token.issue');
    expect(events.slice(0, 2)).toEqual([
      expect.objectContaining({ who: 'nobody', result: 'denied', reason: 'unknown account', source: '192.0.2.50' }),
      expect.objectContaining({ who: 'will', result: 'denied', reason: 'wrong secret', source: '192.0.2.50' }),
    ]);
  });

  it('refuses another service with 400', async () => {
    expect((await t.send('GET', '/token?service=elsewhere', { headers: basic('will', 'will-password') })).status).toBe(400);
  });
});

describe('POST /token (OAuth2 form)', () => {
  it('grant_type=password issues a token; access_type=offline adds a refresh token', async () => {
    const res = await t.send('POST', '/token', form({ grant_type: 'password', username: 'will', password: 'will-password', service: 'cirrus', client_id: 'docker', access_type: 'offline', scope: 'repository:team/app:pull,push repository:team/lib:pull' }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; access_token: string; refresh_token: string; expires_in: number };
    expect(body.access_token).toBe(body.token);
    expect(body.refresh_token).toEqual(expect.any(String));
    expect(claimsOf(body.token).access).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'team/lib', actions: ['pull'] },
    ]);
    // Without access_type=offline: no refresh token.
    const plain = await t.send('POST', '/token', form({ grant_type: 'password', username: 'will', password: 'will-password', client_id: 'x' }));
    expect((await plain.json()) as object).not.toHaveProperty('refresh_token');
  });

  it('grant_type=refresh_token issues new access tokens until the secret changes', async () => {
    await t.account('rob', 'rob-password-1', { team: 'writer' });
    const login = await t.send('POST', '/token', form({ grant_type: 'password', username: 'rob', password: 'rob-password-1', access_type: 'offline', client_id: 'x' }));
    const { refresh_token } = (await login.json()) as { refresh_token: string };
    const refresh = () => t.send('POST', '/token', form({ grant_type: 'refresh_token', refresh_token, client_id: 'x', scope: 'repository:team/app:push', service: 'cirrus' }));
    const res = await refresh();
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; refresh_token: string };
    expect(claimsOf(body.token)).toMatchObject({ sub: 'rob', access: [{ type: 'repository', name: 'team/app', actions: ['push'] }] });
    expect(body.refresh_token).toBe(refresh_token);

    await t.auth.identities.setDisabled('rob', true);
    expect((await refresh()).status).toBe(401);
    await t.auth.identities.setDisabled('rob', false);
    expect((await refresh()).status).toBe(200);
    await t.auth.identities.setSecret('rob', 'rob-password-2');
    expect((await refresh()).status).toBe(401);
    // A refresh token is no access token, and an access token is no refresh token.
    expect((await t.send('GET', '/v2/', { token: refresh_token })).status).toBe(401);
    expect((await t.send('POST', '/token', form({ grant_type: 'refresh_token', refresh_token: body.token, client_id: 'x' }))).status).toBe(401);
  });

  it('refuses a wrong password (401), a missing field or unknown grant (400), another content type (400)', async () => {
    expect((await t.send('POST', '/token', form({ grant_type: 'password', username: 'rita', password: 'nope-nope', client_id: 'x' }))).status).toBe(401);
    expect((await t.send('POST', '/token', form({ grant_type: 'password', username: 'rita' }))).status).toBe(400);
    expect((await t.send('POST', '/token', form({ grant_type: 'client_credentials' }))).status).toBe(400);
    expect((await t.send('POST', '/token', { headers: { 'Content-Type': 'application/json' }, body: '{}' })).status).toBe(400);
  });
});

describe('accounts that may not log in', () => {
  it('a disabled user and an expired robot are refused; a robot before its expiry is not', async () => {
    await t.account('dora', 'dora-password', { team: 'reader' });
    await t.auth.identities.setDisabled('dora', true);
    await expect(t.token('dora', 'dora-password', [])).rejects.toThrow(/401/);
    await t.account('robot$old', 'robot-old-secret', { team: 'reader' }, { kind: 'robot', expiresAt: t.clock.now + 60_000 });
    expect(claimsOf(await t.token('robot$old', 'robot-old-secret', ['repository:team/app:pull'])).sub).toBe('robot$old');
    // The clock only moves forward here: the audit trail is ordered by it.
    t.clock.now += 61_000;
    await expect(t.token('robot$old', 'robot-old-secret', [])).rejects.toThrow(/401/);
    const reasons = (await t.auth.audit.list({ limit: 5 })).events.map((e) => e.reason);
    expect(reasons).toContain('account disabled');
    expect(reasons).toContain('account expired');
  });
});

describe('password guessing is throttled', () => {
  it('per account: after 3 failures even the right password gets 429 with Retry-After, from any address, until the window ends', async () => {
    await t.account('gina', 'gina-password', { team: 'reader' });
    for (let i = 0; i < 3; i++) {
      expect((await t.send('GET', '/token', { headers: basic('gina', `guess-${i}-xx`), address: `198.51.100.${i}` })).status).toBe(401);
    }
    const locked = await t.send('GET', '/token', { headers: basic('gina', 'gina-password'), address: '198.51.100.99' });
    expect(locked.status).toBe(429);
    expect(((await locked.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('TOOMANYREQUESTS');
    const retryAfter = Number(locked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // The POST form is braked the same way.
    expect((await t.send('POST', '/token', { ...form({ grant_type: 'password', username: 'gina', password: 'gina-password', client_id: 'x' }), address: '198.51.100.98' })).status).toBe(429);
    // Other accounts are not affected.
    expect((await t.send('GET', '/token', { headers: basic('rita', 'rita-password'), address: '198.51.100.99' })).status).toBe(200);
    expect((await t.auth.audit.list({ limit: 1 })).events[0]).toMatchObject({ who: 'gina', reason: 'too many failed logins' });

    t.clock.now += 61_000;
    expect((await t.send('GET', '/token', { headers: basic('gina', 'gina-password'), address: '198.51.100.99' })).status).toBe(200);
  });

  it('per source address: 6 failures over any accounts lock that address out, not others', async () => {
    const address = '203.0.113.7';
    for (let i = 0; i < 6; i++) {
      expect((await t.send('GET', '/token', { headers: basic(`user${i}`, 'some-guess-xx'), address })).status).toBe(401);
    }
    const res = await t.send('GET', '/token', { headers: basic('will', 'will-password'), address });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(60);
    expect((await t.send('GET', '/token', { headers: basic('will', 'will-password'), address: '203.0.113.8' })).status).toBe(200);
    // Anonymous tokens need no password and are not braked.
    expect((await t.send('GET', '/token', { address })).status).toBe(200);
  });

  it('a successful login clears the account counter', async () => {
    await t.account('hank', 'hank-password');
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++) await t.send('GET', '/token', { headers: basic('hank', 'bad-guess-xx'), address: `10.9.${round}.${i}` });
      expect((await t.send('GET', '/token', { headers: basic('hank', 'hank-password'), address: `10.9.${round}.9` })).status).toBe(200);
    }
  });
});
