/** /v2/<name>/blobs/<digest>: GET (307 to a signed URL), HEAD (answered here), DELETE. */
import type { Context } from 'hono';
import { codes, RegistryError } from '../../errors/index.ts';
import type { AppEnv } from '../app-env.ts';
import { requireDigest } from '../validate.ts';

export async function getBlob(c: Context<AppEnv>, name: string, digest: string, head: boolean): Promise<Response> {
  requireDigest(digest);
  const { blobs } = c.var.deps.registry;
  const blob = await blobs.stat(name, digest);
  if (!blob) throw new RegistryError(codes.BLOB_UNKNOWN, { detail: { digest } });
  if (head) {
    return c.body(null, 200, {
      'Content-Length': String(blob.size),
      'Content-Type': 'application/octet-stream',
      'Docker-Content-Digest': digest,
      'Accept-Ranges': 'bytes',
      ETag: `"${digest}"`,
    });
  }
  return c.body(null, 307, {
    Location: await blobs.redirectUrl(blob),
    'Docker-Content-Digest': digest,
    // The signed URL expires; a cached redirect must not outlive it.
    'Cache-Control': 'no-store',
  });
}

export async function deleteBlob(c: Context<AppEnv>, name: string, digest: string): Promise<Response> {
  requireDigest(digest);
  if (!(await c.var.deps.registry.blobs.unlink(name, digest))) throw new RegistryError(codes.BLOB_UNKNOWN, { detail: { digest } });
  return c.body(null, 202);
}
