/**
 * The store the parametrised suites run on, from CIRRUS_TEST_BACKEND: `embedded` (default; SQLite
 * and files) or `aws-local` (DynamoDbTable and S3ObjectStore over dynalite and s3rver). vitest.config.ts
 * runs everything on embedded and the parity subset on aws-local, as the projects of those names.
 * `createTestApp()` builds its store from it, and `startLocalHost()` passes it on as CIRRUS_BACKEND.
 *
 * A test that cannot run on aws-local (its premise is the filesystem store's, or it hits one of
 * s3rver's gaps listed in aws-local.ts) is `it.skipIf(onAwsLocal)(embeddedOnly(name, reason), …)`,
 * so the skip says why.
 */
import { expect } from 'vitest';

export type TestBackend = 'embedded' | 'aws-local';

export function testBackend(): TestBackend {
  const value = process.env.CIRRUS_TEST_BACKEND ?? 'embedded';
  if (value !== 'embedded' && value !== 'aws-local') {
    throw new Error(`CIRRUS_TEST_BACKEND must be embedded or aws-local, not ${JSON.stringify(value)}`);
  }
  return value;
}

export const onAwsLocal = testBackend() === 'aws-local';

/** The test's name, and on aws-local (where `it.skipIf(onAwsLocal)` skips it) why it does not run there. */
export function embeddedOnly(name: string, reason: string): string {
  return onAwsLocal ? `${name} [skipped on aws-local: ${reason}]` : name;
}

/**
 * A blob GET's Location is a URL signed by the store: on embedded, a relative `/_objects/<key>`
 * path with `expires` and `signature` that the local host serves on whatever name the client used;
 * on aws-local, an absolute presigned S3 URL of s3rver (another origin than the registry's).
 * Returns the object key it names.
 */
export function expectSignedLocation(location: string, registryUrl: string): string {
  if (!onAwsLocal) {
    expect(location).toMatch(/^\/_objects\/[^?]+\?expires=\d+&signature=[A-Za-z0-9_-]+$/);
    const url = new URL(location, registryUrl);
    return decodeURIComponent(url.pathname.slice('/_objects/'.length));
  }
  expect(location).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[^/?]+\/[^?]+\?/);
  const url = new URL(location);
  expect(url.origin).not.toBe(new URL(registryUrl).origin);
  expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
  expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  // Path-style: /<bucket>/<key>.
  return decodeURIComponent(url.pathname.split('/').slice(2).join('/'));
}

/** When a signed Location stops working (ms since the epoch), from either form above. */
export function signedExpiry(location: string): number {
  const url = new URL(location, 'http://local');
  if (!onAwsLocal) return Number(url.searchParams.get('expires')) * 1000;
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(url.searchParams.get('X-Amz-Date') ?? '');
  expect(date, 'X-Amz-Date').not.toBeNull();
  const [, y, mo, d, h, mi, s] = date!.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!) + Number(url.searchParams.get('X-Amz-Expires')) * 1000;
}
