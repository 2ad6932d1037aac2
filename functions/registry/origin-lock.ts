/**
 * Only CloudFront may call the origins. CloudFront's origin access control for Lambda URLs needs
 * `x-amz-content-sha256` on PUT/POST, which registry clients never send, so CloudFront adds a
 * secret header instead (from Secrets Manager, rotatable) and the origin hosts check it here,
 * before the app: a request without it gets 403 DENIED and touches nothing.
 *
 * Past the lock, the headers the edge set are applied (core/http/edge-headers.ts): the verified
 * token becomes the Authorization the app checks again, and the viewer's Host and address replace
 * the origin's own.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { codes, toErrorResponse, type ErrorResponse } from '../../core/errors/index.ts';
import {
  EDGE_CLIENT_IP_HEADER,
  EDGE_HOST_HEADER,
  EDGE_PRINCIPAL_HEADER,
  EDGE_TOKEN_HEADER,
  INTERNAL_HEADER_PREFIX,
  ORIGIN_SECRET_HEADER,
} from '../../core/http/edge-headers.ts';
import type { CachedSecret } from './secrets.ts';

export interface OriginLock {
  accepts(presented: string | undefined): Promise<boolean>;
}

/** A lock over fixed secrets (tests, and anything that holds its secret in memory). */
export function staticOriginLock(secrets: readonly string[]): OriginLock {
  return { accepts: async (presented) => presented !== undefined && secrets.some((s) => sameSecret(s, presented)) };
}

/**
 * A lock over the Secrets Manager secret: the current or the previous version passes. An unknown
 * value triggers one early re-read (at most every 30 s), so a fresh rotation is seen at once.
 */
export function secretOriginLock(secret: CachedSecret, now: () => number = Date.now): OriginLock {
  const matches = async () => secret.values();
  return {
    async accepts(presented) {
      if (presented === undefined || presented === '') return false;
      if ((await matches()).some((s) => sameSecret(s, presented))) return true;
      if (now() - (secret.readAt ?? 0) < 30_000) return false;
      await secret.fresh(0);
      return (await matches()).some((s) => sameSecret(s, presented));
    },
  };
}

function sameSecret(expected: string, presented: string): boolean {
  // Digests have equal lengths, so the comparison takes the same time whatever was presented.
  return timingSafeEqual(createHash('sha256').update(expected).digest(), createHash('sha256').update(presented).digest());
}

export const ORIGIN_DENIED_MESSAGE = 'requests must come through the registry\'s CloudFront distribution';

export function originDenied(): ErrorResponse {
  return toErrorResponse(codes.DENIED, { message: ORIGIN_DENIED_MESSAGE });
}

export interface Forwarded {
  host?: string;
  clientIp?: string;
  principal?: string;
}

/**
 * Applies the edge's headers to a lower-case header map, in place, and removes every internal
 * header (the app never sees them): `x-cirrus-token` → `authorization: Bearer …`, `x-cirrus-host`
 * → `host`. Returns what the host adapter must set elsewhere (the client's address).
 */
export function applyEdgeHeaders(headers: Record<string, string | string[] | undefined>): Forwarded {
  const one = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const token = one(EDGE_TOKEN_HEADER);
  const forwarded: Forwarded = { host: one(EDGE_HOST_HEADER), clientIp: one(EDGE_CLIENT_IP_HEADER), principal: one(EDGE_PRINCIPAL_HEADER) };
  for (const name of Object.keys(headers)) if (name.startsWith(INTERNAL_HEADER_PREFIX)) delete headers[name];
  if (token) headers.authorization = `Bearer ${token}`;
  if (forwarded.host) headers.host = forwarded.host;
  return forwarded;
}

export { ORIGIN_SECRET_HEADER };
