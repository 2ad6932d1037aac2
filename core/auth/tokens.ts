/**
 * Token signing and verification (Docker's token spec, ES256 JWTs). `verifyAccessToken` is a pure
 * function of the token, a public key and the expected audience and issuer, so the origin and a
 * CloudFront edge handler share it: the edge needs only the public key bundled at build time.
 *
 * Two kinds of token: access tokens carry `access` (what was granted) and live minutes; refresh
 * tokens (`token_use: refresh`, no `access`) let a client that logged in with `access_type=offline`
 * get new access tokens, and stop working when the account's secret changes (`epoch`).
 */
import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, errors, jwtVerify, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import type { Scope } from './scopes.ts';
import { TOKEN_ALGORITHM, type SigningKey } from './signing-keys.ts';

/**
 * Who signs tokens (`iss`) and whom they are for (`aud`: the `service` of the challenge). A
 * token's subject (`sub`) is an account name, or '' for an anonymous token.
 */
export interface TokenParties {
  issuer: string;
  /** The `service` of the challenge; the token's audience. */
  service: string;
}

export interface IssuedToken {
  token: string;
  /** Seconds since the epoch. */
  issuedAt: number;
  expiresIn: number;
}

export type VerifyFailure = 'malformed' | 'algorithm' | 'signature' | 'expired' | 'not-yet-valid' | 'audience' | 'issuer' | 'claims';

export type VerifiedAccess =
  | { ok: true; subject: string; access: Scope[]; expiresAt: number; tokenId: string }
  | { ok: false; reason: VerifyFailure };

export type VerifiedRefresh = { ok: true; subject: string; epoch: number } | { ok: false; reason: VerifyFailure };

/** Clock skew tolerated between the signer and a verifier (the edge runs elsewhere). */
const CLOCK_TOLERANCE_SECONDS = 10;
/** Far larger than any token we sign; refuses absurd inputs before any parsing. */
const MAX_TOKEN_LENGTH = 16 * 1024;

export async function signAccessToken(
  key: SigningKey,
  input: TokenParties & { subject: string; access: Scope[]; ttlSeconds: number; now: number },
): Promise<IssuedToken> {
  const { token, issuedAt } = await signToken(key, { access: input.access }, input);
  return { token, issuedAt, expiresIn: input.ttlSeconds };
}

export async function signRefreshToken(
  key: SigningKey,
  input: TokenParties & { subject: string; epoch: number; ttlSeconds: number; now: number },
): Promise<string> {
  return (await signToken(key, { token_use: 'refresh', epoch: input.epoch }, input)).token;
}

/** Both kinds of token: the same registered claims around different private ones. */
async function signToken(
  key: SigningKey,
  claims: Record<string, unknown>,
  input: TokenParties & { subject: string; ttlSeconds: number; now: number },
): Promise<{ token: string; issuedAt: number }> {
  const issuedAt = Math.floor(input.now / 1000);
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: 'JWT', kid: key.kid })
    .setIssuer(input.issuer)
    .setSubject(input.subject)
    .setAudience(input.service)
    .setIssuedAt(issuedAt)
    .setNotBefore(issuedAt)
    .setExpirationTime(issuedAt + input.ttlSeconds)
    .setJti(randomUUID())
    .sign(key.privateKey);
  return { token, issuedAt };
}

/**
 * Verifies an access token: ES256 only (never `none`, never an HMAC keyed with the public key),
 * signed by `publicKey`, for `expected.service` from `expected.issuer`, within its validity.
 * `now` (ms) defaults to the clock.
 */
export async function verifyAccessToken(token: string, publicKey: CryptoKey, expected: TokenParties, now = Date.now()): Promise<VerifiedAccess> {
  const verified = await verifyJwt(token, publicKey, expected, now);
  if (!verified.ok) return verified;
  const { payload } = verified;
  if (payload.token_use !== undefined || !isAccessClaim(payload.access) || typeof payload.sub !== 'string' || typeof payload.jti !== 'string') {
    return { ok: false, reason: 'claims' };
  }
  return { ok: true, subject: payload.sub, access: payload.access, expiresAt: payload.exp! * 1000, tokenId: payload.jti };
}

export async function verifyRefreshToken(token: string, publicKey: CryptoKey, expected: TokenParties, now = Date.now()): Promise<VerifiedRefresh> {
  const verified = await verifyJwt(token, publicKey, expected, now);
  if (!verified.ok) return verified;
  const { payload } = verified;
  if (payload.token_use !== 'refresh' || typeof payload.epoch !== 'number' || typeof payload.sub !== 'string' || payload.sub === '') {
    return { ok: false, reason: 'claims' };
  }
  return { ok: true, subject: payload.sub, epoch: payload.epoch };
}

async function verifyJwt(
  token: string,
  publicKey: CryptoKey,
  expected: TokenParties,
  now: number,
): Promise<{ ok: true; payload: JWTPayload } | { ok: false; reason: VerifyFailure }> {
  if (token.length > MAX_TOKEN_LENGTH || !/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) return { ok: false, reason: 'malformed' };
  try {
    // Checked before jose sees the token: the algorithm comes from us, never from the token.
    if (decodeProtectedHeader(token).alg !== TOKEN_ALGORITHM) return { ok: false, reason: 'algorithm' };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  try {
    const { payload } = await jwtVerify(token, publicKey, {
      algorithms: [TOKEN_ALGORITHM],
      issuer: expected.issuer,
      audience: expected.service,
      currentDate: new Date(now),
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['exp', 'nbf', 'iat', 'jti', 'sub'],
    });
    return { ok: true, payload };
  } catch (error) {
    return { ok: false, reason: failureOf(error) };
  }
}

function failureOf(error: unknown): VerifyFailure {
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'not-yet-valid';
    if (error.claim === 'aud') return 'audience';
    if (error.claim === 'iss') return 'issuer';
    return 'claims';
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature';
  return 'malformed';
}

function isAccessClaim(value: unknown): value is Scope[] {
  return (
    Array.isArray(value) &&
    value.every(
      (s) =>
        typeof s === 'object' &&
        s !== null &&
        typeof (s as Scope).type === 'string' &&
        typeof (s as Scope).name === 'string' &&
        Array.isArray((s as Scope).actions) &&
        (s as Scope).actions.every((a) => typeof a === 'string'),
    )
  );
}
