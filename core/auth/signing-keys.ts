/**
 * The ES256 key pair that signs tokens. Generated once and kept by the host (a 0600 file in the
 * local data dir), or passed in as a PEM (PKCS#8) or JWK text (on AWS, from a secret). Only the
 * public half is needed to verify, so an edge handler can bundle it alone.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, importPKCS8, importSPKI, type CryptoKey, type JWK } from 'jose';

export const TOKEN_ALGORITHM = 'ES256';

export interface SigningKey {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public half as a JWK (with `kid`), to publish or bundle. */
  publicJwk: JWK;
  /** RFC 7638 thumbprint of the public key; the `kid` header of every token. */
  kid: string;
}

/** A fresh P-256 key pair, and its private JWK to persist. */
export async function generateSigningKey(): Promise<{ key: SigningKey; privateJwk: JWK }> {
  const pair = await generateKeyPair(TOKEN_ALGORITHM, { extractable: true });
  const privateJwk = await exportJWK(pair.privateKey);
  return { key: await importSigningKey(JSON.stringify(privateJwk)), privateJwk };
}

/** A private key from PEM (PKCS#8, `-----BEGIN PRIVATE KEY-----`) or from a JWK's JSON. */
export async function importSigningKey(text: string): Promise<SigningKey> {
  const trimmed = text.trim();
  let privateJwk: JWK;
  if (trimmed.startsWith('{')) {
    privateJwk = JSON.parse(trimmed) as JWK;
  } else if (trimmed.includes('-----BEGIN PRIVATE KEY-----')) {
    privateJwk = await exportJWK(await importPKCS8(trimmed, TOKEN_ALGORITHM, { extractable: true }));
  } else {
    throw new Error('signing key: expected a PKCS#8 PEM or a JWK (JSON)');
  }
  if (privateJwk.kty !== 'EC' || privateJwk.crv !== 'P-256' || typeof privateJwk.d !== 'string') {
    throw new Error('signing key: expected a private EC P-256 key (ES256)');
  }
  const { d: _d, ...publicPart } = privateJwk;
  const kid = await calculateJwkThumbprint(publicPart);
  return {
    privateKey: (await importJWK({ ...privateJwk, alg: TOKEN_ALGORITHM }, TOKEN_ALGORITHM)) as CryptoKey,
    publicKey: await importVerificationKey(JSON.stringify(publicPart)),
    publicJwk: { kty: publicPart.kty, crv: publicPart.crv, x: publicPart.x, y: publicPart.y, alg: TOKEN_ALGORITHM, use: 'sig', kid },
    kid,
  };
}

/** A public key from PEM (SPKI, `-----BEGIN PUBLIC KEY-----`) or a JWK's JSON: what a verifier holds. */
export async function importVerificationKey(text: string): Promise<CryptoKey> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const { d: _d, ...jwk } = JSON.parse(trimmed) as JWK;
    return (await importJWK({ ...jwk, alg: TOKEN_ALGORITHM }, TOKEN_ALGORITHM)) as CryptoKey;
  }
  return importSPKI(trimmed, TOKEN_ALGORITHM);
}
