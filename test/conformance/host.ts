// Shared pieces of the conformance workflows: a fetch client on a running local host, and reads of
// blob bytes through the 307 → signed URL path that real clients follow.
import { expect } from 'vitest';
import { fetchTransport, RegistryClient, sha256 } from '../support/app.ts';
import { expectSignedLocation } from '../support/backend.ts';

export function hostClient(url: string): RegistryClient {
  return new RegistryClient(fetchTransport(url));
}

/** GET blob: expects a 307 with the digest, then follows Location (on the host, or S3's on aws-rgw), optionally with Range. */
export async function pullBlob(baseUrl: string, name: string, digest: string, range?: string): Promise<{ res: Response; bytes: Buffer }> {
  const redirect = await fetch(`${baseUrl}/v2/${name}/blobs/${digest}`, { redirect: 'manual' });
  expect(redirect.status).toBe(307);
  expect(redirect.headers.get('docker-content-digest')).toBe(digest);
  const location = redirect.headers.get('location')!;
  expectSignedLocation(location, baseUrl);
  const res = await fetch(new URL(location, baseUrl), { headers: range ? { Range: range } : {} });
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** Pulls a whole blob and checks it hashes to its digest. */
export async function expectBlob(baseUrl: string, name: string, digest: string, expected?: Uint8Array): Promise<Buffer> {
  const { res, bytes } = await pullBlob(baseUrl, name, digest);
  expect(res.status).toBe(200);
  expect(sha256(bytes)).toBe(digest);
  if (expected) expect(bytes.equals(expected)).toBe(true);
  return bytes;
}

/** The error codes of the distribution spec, as the conformance suite lists them. */
export const SPEC_ERROR_CODES = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
];

export const is2xx = (status: number) => status >= 200 && status < 300;
