/**
 * Account secrets: scrypt with a per-secret random salt, encoded with its parameters so they can
 * be raised later without invalidating stored hashes; compared in constant time. Secrets are
 * never logged, stored or returned in the clear.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const PARAMS = { N: 1 << 14, r: 8, p: 1 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** Longer secrets are refused before hashing: scrypt's cost must not be the caller's to choose. */
export const MAX_SECRET_LENGTH = 1024;

function derive(secret: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r };
  return new Promise((resolve, reject) =>
    scrypt(secret.normalize('NFC'), salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** `scrypt$N$r$p$<salt, base64url>$<hash, base64url>` */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const hash = await derive(secret, salt, PARAMS);
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** True when `secret` matches `encoded`; a malformed or absent hash never matches (and costs the same). */
export async function verifySecret(secret: string, encoded: string | undefined): Promise<boolean> {
  const parts = encoded?.split('$');
  const [scheme, n, r, p, salt, hash] = parts ?? [];
  const valid = parts?.length === 6 && scheme === 'scrypt' && salt !== undefined && hash !== undefined;
  const params = valid ? { N: Number(n), r: Number(r), p: Number(p) } : PARAMS;
  if (!(params.N > 1 && params.N <= 1 << 20 && params.r >= 1 && params.r <= 32 && params.p >= 1 && params.p <= 16)) return false;
  // An unknown user is hashed against a random salt too, so timing does not tell who exists.
  const expected = valid ? Buffer.from(hash, 'base64url') : randomBytes(KEY_LENGTH);
  const actual = await derive(secret.slice(0, MAX_SECRET_LENGTH), valid ? Buffer.from(salt, 'base64url') : randomBytes(SALT_LENGTH), params);
  return valid && secret.length <= MAX_SECRET_LENGTH && expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** A random secret for a robot (or a generated password): 32 bytes, base64url. */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}
