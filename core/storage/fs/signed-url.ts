/**
 * HMAC-signed object paths: the filesystem store's stand-in for S3 presigned URLs. The local
 * host serves `/_objects/<key>?expires=…&signature=…` after checking the signature and expiry.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNED_PATH_PREFIX = '/_objects/';

function signature(secret: Uint8Array, key: string, expires: number): string {
  return createHmac('sha256', secret).update(`${key}\n${expires}`).digest('base64url');
}

export function signPath(secret: Uint8Array, key: string, expires: number): string {
  const encodedKey = key.split('/').map(encodeURIComponent).join('/');
  return `${SIGNED_PATH_PREFIX}${encodedKey}?expires=${expires}&signature=${signature(secret, key, expires)}`;
}

export type SignedPathCheck = { ok: true; key: string } | { ok: false; reason: 'malformed' | 'expired' | 'bad-signature' };

/** Checks a request path and its query; `now` in seconds since the epoch. */
export function verifySignedPath(secret: Uint8Array, pathname: string, query: URLSearchParams, now: number): SignedPathCheck {
  if (!pathname.startsWith(SIGNED_PATH_PREFIX)) return { ok: false, reason: 'malformed' };
  let key: string;
  try {
    key = decodeURIComponent(pathname.slice(SIGNED_PATH_PREFIX.length));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const expires = Number(query.get('expires'));
  const given = Buffer.from(query.get('signature') ?? '', 'base64url');
  if (!Number.isSafeInteger(expires) || given.length === 0) return { ok: false, reason: 'malformed' };
  const wanted = Buffer.from(signature(secret, key, expires), 'base64url');
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return { ok: false, reason: 'bad-signature' };
  if (expires < now) return { ok: false, reason: 'expired' };
  return { ok: true, key };
}
