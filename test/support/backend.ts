/**
 * The store the parametrised suites run on, from CIRRUS_TEST_BACKEND: `embedded` (default; SQLite
 * and files) or `aws-rgw` (DynamoDbTable and S3ObjectStore over dynalite and Ceph's RADOS Gateway,
 * one of each for the run: aws-rgw-setup.ts). vitest.config.ts runs everything on embedded and the
 * AWS subset on aws-rgw, as the projects of those names. `createTestApp()` builds its store from
 * it, and `startLocalHost()` runs the host on it (CIRRUS_BACKEND=aws with a table and a bucket of
 * its own on aws-rgw).
 *
 * A test whose premise is the filesystem store's is `it.skipIf(onAws)(embeddedOnly(name, reason), …)`,
 * so the skip says why. None is skipped for a gap of the servers.
 */
import { expect } from 'vitest';

export type TestBackend = 'embedded' | 'aws-rgw';

export function testBackend(): TestBackend {
  const value = process.env.CIRRUS_TEST_BACKEND ?? 'embedded';
  if (value !== 'embedded' && value !== 'aws-rgw') {
    throw new Error(`CIRRUS_TEST_BACKEND must be embedded or aws-rgw, not ${JSON.stringify(value)}`);
  }
  return value;
}

export const onAws = testBackend() === 'aws-rgw';

/** The test's name, and on aws-rgw (where `it.skipIf(onAws)` skips it) why it does not run there. */
export function embeddedOnly(name: string, reason: string): string {
  return onAws ? `${name} [skipped on aws-rgw: ${reason}]` : name;
}

/**
 * A blob GET's Location is a URL signed by the store: on embedded, a relative `/_objects/<key>`
 * path with `expires` and `signature` that the local host serves on whatever name the client used;
 * on aws-rgw, an absolute presigned S3 URL of RGW (another origin than the registry's).
 * Returns the object key it names.
 */
export function expectSignedLocation(location: string, registryUrl: string): string {
  if (!onAws) {
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
  if (!onAws) return Number(url.searchParams.get('expires')) * 1000;
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(url.searchParams.get('X-Amz-Date') ?? '');
  expect(date, 'X-Amz-Date').not.toBeNull();
  const [, y, mo, d, h, mi, s] = date!.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!) + Number(url.searchParams.get('X-Amz-Expires')) * 1000;
}
