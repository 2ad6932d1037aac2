/**
 * Digests as the OCI image spec defines them: `algorithm ":" encoded`.
 * Only registered algorithms are accepted, with their exact encoded form (lowercase hex of the
 * right length), so a digest string is canonical and can key storage directly.
 */
import { createHash } from 'node:crypto';

export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  encoded: string;
}

const GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Parses a digest; undefined when it is malformed or its algorithm is not one we verify. */
export function parseDigest(digest: string): ParsedDigest | undefined {
  if (digest.length > 256 || !GRAMMAR.test(digest)) return undefined;
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  const encoded = digest.slice(colon + 1);
  if (algorithm !== 'sha256' && algorithm !== 'sha512') return undefined;
  if (encoded.length !== HEX_LENGTH[algorithm] || !/^[0-9a-f]+$/.test(encoded)) return undefined;
  return { algorithm, encoded };
}

export function isDigest(value: string): boolean {
  return parseDigest(value) !== undefined;
}

/** Looks like a digest (has the grammar) even if we cannot verify it: used to pick the error code. */
export function looksLikeDigest(value: string): boolean {
  return value.includes(':');
}

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}
