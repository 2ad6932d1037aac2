/**
 * Token verification with the public keys baked into the bundle: the same `verifyAccessToken` the
 * origin uses (core/auth/tokens.ts), over one or more keys. A token's `kid` (the key's RFC 7638
 * thumbprint, as the issuer sets it) picks its key; without a match every key is tried.
 */
import { calculateJwkThumbprint, decodeProtectedHeader, exportJWK, importSPKI, type CryptoKey, type JWK } from 'jose';
import { importVerificationKey, TOKEN_ALGORITHM } from '../../core/auth/signing-keys.ts';
import { verifyAccessToken, type VerifiedAccess } from '../../core/auth/tokens.ts';

/** Who must have issued a token, and for which service. */
export type ExpectedParties = Parameters<typeof verifyAccessToken>[2];

export interface VerificationKey {
  kid: string;
  key: CryptoKey;
}

export async function importVerificationKeys(texts: readonly string[]): Promise<VerificationKey[]> {
  return Promise.all(
    texts.map(async (text) => {
      const trimmed = text.trim();
      const jwk: JWK = trimmed.startsWith('{')
        ? (JSON.parse(trimmed) as JWK)
        : await exportJWK(await importSPKI(trimmed, TOKEN_ALGORITHM, { extractable: true }));
      const kid = await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } as JWK);
      return { kid, key: await importVerificationKey(trimmed) };
    }),
  );
}

export async function verifyWithKeys(
  token: string,
  keys: readonly VerificationKey[],
  expected: ExpectedParties,
  now: number,
): Promise<VerifiedAccess> {
  let kid: string | undefined;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const named = keys.find((k) => k.kid === kid);
  const candidates = named ? [named] : keys;
  let failure: VerifiedAccess = { ok: false, reason: 'signature' };
  for (const candidate of candidates) {
    const verified = await verifyAccessToken(token, candidate.key, expected, now);
    if (verified.ok) return verified;
    // A wrong key says "signature"; anything else (expired, audience…) is the token's own fault.
    if (failure.ok === false && failure.reason === 'signature') failure = verified;
  }
  return failure;
}
