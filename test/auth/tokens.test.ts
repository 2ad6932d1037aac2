// Token verification refuses every forgery: another key, `alg: none`, HS256 keyed with the public
// key, tampered claims, expired, not yet valid, wrong audience or issuer, a refresh token used as
// an access token. Checked on the pure verify function (what an edge handler will call) and at
// the origin over HTTP (401 invalid_token, audited).
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateSigningKey,
  importSigningKey,
  importVerificationKey,
  signAccessToken,
  signRefreshToken,
  verifyAccessToken,
  type Scope,
  type SigningKey,
  type VerifyFailure,
} from '../../core/auth/index.ts';
import { createAuthTestApp, type AuthTestApp } from '../support/auth-app.ts';

const EXPECTED = { issuer: 'cirrus', service: 'cirrus' };
const ACCESS: Scope[] = [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }];

let key: SigningKey;
beforeAll(async () => {
  ({ key } = await generateSigningKey());
});

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const seconds = () => Math.floor(Date.now() / 1000);
const claims = (extra: object = {}) => ({
  iss: 'cirrus',
  sub: 'mallory',
  aud: 'cirrus',
  iat: seconds(),
  nbf: seconds(),
  exp: seconds() + 300,
  jti: 'j1',
  access: ACCESS,
  ...extra,
});

/** Forgeries, each with the reason verification must give. */
async function forgeries(): Promise<Array<[name: string, token: string, reason: VerifyFailure]>> {
  const other = await generateKeyPair('ES256');
  const p384 = await generateKeyPair('ES384');
  const publicPem = await exportSPKI(key.publicKey);
  const publicJwk = JSON.stringify(await exportJWK(key.publicKey));
  const genuine = (await signAccessToken(key, { ...EXPECTED, subject: 'will', access: [{ type: 'repository', name: 'team/app', actions: ['pull'] }], ttlSeconds: 300, now: Date.now() })).token;
  const [h, , sig] = genuine.split('.');
  const hs256 = (secret: Uint8Array) => new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: key.kid }).sign(secret);
  return [
    ['signed by another ES256 key', await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: key.kid }).sign(other.privateKey), 'signature'],
    ['alg none, no signature', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`, 'algorithm'],
    ['alg none with a signature copied from a genuine token', `${b64({ alg: 'none' })}.${b64(claims())}.${sig}`, 'algorithm'],
    ['HS256 keyed with the public key as PEM', await hs256(new TextEncoder().encode(publicPem)), 'algorithm'],
    ['HS256 keyed with the public key as JWK', await hs256(new TextEncoder().encode(publicJwk)), 'algorithm'],
    ['ES384 (another curve, another key)', await new SignJWT(claims()).setProtectedHeader({ alg: 'ES384' }).sign(p384.privateKey), 'algorithm'],
    ['genuine header and signature, access widened', `${h}.${b64(claims({ sub: 'will', access: [{ type: 'repository', name: 'team/app', actions: ['*'] }] }))}.${sig}`, 'signature'],
    ['expired', await new SignJWT(claims({ iat: seconds() - 900, nbf: seconds() - 900, exp: seconds() - 600 })).setProtectedHeader({ alg: 'ES256' }).sign(key.privateKey), 'expired'],
    ['not yet valid', await new SignJWT(claims({ nbf: seconds() + 600, exp: seconds() + 900 })).setProtectedHeader({ alg: 'ES256' }).sign(key.privateKey), 'not-yet-valid'],
    ['for another audience', await new SignJWT(claims({ aud: 'another-registry' })).setProtectedHeader({ alg: 'ES256' }).sign(key.privateKey), 'audience'],
    ['from another issuer', await new SignJWT(claims({ iss: 'someone-else' })).setProtectedHeader({ alg: 'ES256' }).sign(key.privateKey), 'issuer'],
    ['without an access claim', await new SignJWT(claims({ access: undefined })).setProtectedHeader({ alg: 'ES256' }).sign(key.privateKey), 'claims'],
    ['a refresh token', await signRefreshToken(key, { ...EXPECTED, subject: 'will', epoch: 1, ttlSeconds: 3600, now: Date.now() }), 'claims'],
    ['not a JWT', 'not-a-token', 'malformed'],
    ['a header that is not JSON', `${Buffer.from('{nope').toString('base64url')}.${b64(claims())}.${sig}`, 'malformed'],
  ];
}

describe('verifyAccessToken (pure: token + public key + expected audience/issuer)', () => {
  it('accepts a token it signed and returns the principal and access', async () => {
    const issued = await signAccessToken(key, { ...EXPECTED, subject: 'will', access: ACCESS, ttlSeconds: 300, now: Date.now() });
    const verified = await verifyAccessToken(issued.token, key.publicKey, EXPECTED);
    expect(verified).toMatchObject({ ok: true, subject: 'will', access: ACCESS });
  });

  it('accepts it with the public key alone, imported from PEM or JWK (what an edge handler bundles)', async () => {
    const issued = await signAccessToken(key, { ...EXPECTED, subject: 'will', access: ACCESS, ttlSeconds: 300, now: Date.now() });
    const fromPem = await importVerificationKey(await exportSPKI(key.publicKey));
    const fromJwk = await importVerificationKey(JSON.stringify(key.publicJwk));
    expect((await verifyAccessToken(issued.token, fromPem, EXPECTED)).ok).toBe(true);
    expect((await verifyAccessToken(issued.token, fromJwk, EXPECTED)).ok).toBe(true);
  });

  it('refuses every forgery with its reason', async () => {
    const results = [];
    for (const [name, token, reason] of await forgeries()) {
      results.push([name, await verifyAccessToken(token, key.publicKey, EXPECTED), reason] as const);
    }
    for (const [name, result, reason] of results) expect({ name, result }).toEqual({ name, result: { ok: false, reason } });
  });

  it('honours `now`: a token is refused after its exp and before its nbf (10 s tolerance)', async () => {
    const now = Date.now();
    const { token } = await signAccessToken(key, { ...EXPECTED, subject: 'will', access: ACCESS, ttlSeconds: 300, now });
    expect((await verifyAccessToken(token, key.publicKey, EXPECTED, now + 299_000)).ok).toBe(true);
    expect(await verifyAccessToken(token, key.publicKey, EXPECTED, now + 311_000)).toEqual({ ok: false, reason: 'expired' });
    expect(await verifyAccessToken(token, key.publicKey, EXPECTED, now - 60_000)).toEqual({ ok: false, reason: 'not-yet-valid' });
  });
});

describe('signing keys', () => {
  it('imports a PKCS#8 PEM and a private JWK to the same key id', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const fromPem = await importSigningKey(await exportPKCS8(pair.privateKey));
    const fromJwk = await importSigningKey(JSON.stringify(await exportJWK(pair.privateKey)));
    expect(fromPem.kid).toBe(fromJwk.kid);
    const { token } = await signAccessToken(fromPem, { ...EXPECTED, subject: 'x', access: [], ttlSeconds: 60, now: Date.now() });
    expect((await verifyAccessToken(token, fromJwk.publicKey, EXPECTED)).ok).toBe(true);
    expect(fromPem.publicJwk).not.toHaveProperty('d');
  });

  it('refuses keys that are not private P-256 keys', async () => {
    await expect(importSigningKey(JSON.stringify(key.publicJwk))).rejects.toThrow(/private EC P-256/);
    const rsa = await generateKeyPair('RS256', { extractable: true });
    await expect(importSigningKey(JSON.stringify(await exportJWK(rsa.privateKey)))).rejects.toThrow(/P-256/);
    await expect(importSigningKey('hello')).rejects.toThrow(/PKCS#8 PEM or a JWK/);
  });
});

describe('forged tokens at the origin', () => {
  let t: AuthTestApp;
  beforeAll(async () => {
    t = await createAuthTestApp();
    key = t.key;
    await t.auth.projects.create('team', { anonymousPull: true });
    await t.open.pushImage('team/app', 'v1');
  });
  afterAll(() => t.close());

  it('each gets 401 with error="invalid_token", and the denial is audited with its reason', async () => {
    for (const [name, token, reason] of await forgeries()) {
      const res = await t.send('GET', '/v2/team/app/manifests/v1', { token });
      expect(res.status, name).toBe(401);
      expect(res.headers.get('www-authenticate'), name).toContain('error="invalid_token"');
      expect(t.logged.at(-1), name).toMatchObject({ result: 'denied', action: 'pull', repository: 'team/app', reason: `token ${reason}` });
    }
    // The same request with a genuine (anonymous) token passes: the project allows anonymous pull.
    const genuine = await t.token(undefined, undefined, ['repository:team/app:pull']);
    expect((await t.send('GET', '/v2/team/app/manifests/v1', { token: genuine })).status).toBe(200);
  });
});
