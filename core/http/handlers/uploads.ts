/** /v2/<name>/blobs/uploads/[<uuid>]: POST (start, monolithic, mount), PATCH, PUT, GET, DELETE. */
import type { Context } from 'hono';
import { paths } from '../../oci/index.ts';
import type { UploadSession } from '../../registry/index.ts';
import { rangeHeader } from '../../registry/upload-sessions.ts';
import type { AppEnv } from '../app-env.ts';
import { LAMBDA_BODY_LIMIT } from '../lambda-limits.ts';
import { bodyStream, contentLength, contentRange } from '../request-body.ts';
import { absoluteUrl } from '../urls.ts';
import { requireDigest, requireName } from '../validate.ts';

export async function startUpload(c: Context<AppEnv>, name: string): Promise<Response> {
  const { registry } = c.var.deps;
  const mount = c.req.query('mount');
  if (mount !== undefined) {
    const digest = requireDigest(mount);
    const from = c.req.query('from');
    if (await mountBlob(c, name, digest, from === undefined ? undefined : requireName(from))) {
      return blobCreated(c, name, digest);
    }
    // The spec's fallback when a mount cannot be done: an ordinary upload session.
  }
  const digestParam = c.req.query('digest');
  if (digestParam !== undefined) {
    const digest = requireDigest(digestParam);
    await registry.uploads.monolithic(name, digest, { body: bodyStream(c), length: contentLength(c) });
    return blobCreated(c, name, digest);
  }
  const session = await registry.uploads.start(name);
  return sessionResponse(c, name, session, 202);
}

export async function patchUpload(c: Context<AppEnv>, name: string, uuid: string): Promise<Response> {
  const session = await c.var.deps.registry.uploads.append(name, uuid, {
    body: bodyStream(c),
    length: contentLength(c),
    range: contentRange(c),
  });
  return sessionResponse(c, name, session, 202);
}

export async function putUpload(c: Context<AppEnv>, name: string, uuid: string): Promise<Response> {
  const digest = requireDigest(c.req.query('digest'));
  await c.var.deps.registry.uploads.finish(name, uuid, digest, {
    body: bodyStream(c),
    length: contentLength(c),
    range: contentRange(c),
  });
  return blobCreated(c, name, digest);
}

export async function getUpload(c: Context<AppEnv>, name: string, uuid: string): Promise<Response> {
  const session = await c.var.deps.registry.uploads.status(name, uuid);
  return sessionResponse(c, name, session, 204);
}

export async function deleteUpload(c: Context<AppEnv>, name: string, uuid: string): Promise<Response> {
  await c.var.deps.registry.uploads.cancel(name, uuid);
  return c.body(null, 204);
}

/**
 * Links a blob already stored elsewhere. With `from`, only from that repository; without it,
 * from any repository that links the digest and that the caller may pull from.
 */
async function mountBlob(c: Context<AppEnv>, name: string, digest: string, from: string | undefined): Promise<boolean> {
  const { blobs } = c.var.deps.registry;
  const access = c.var.access;
  if (from !== undefined) {
    if (!access.canPull(from) || !(await blobs.stat(from, digest))) return false;
    return blobs.link(name, digest);
  }
  for await (const repo of blobs.linkedRepositories(digest)) {
    if (repo === name || access.canPull(repo)) {
      if (await blobs.stat(repo, digest)) return blobs.link(name, digest);
    }
  }
  return false;
}

function blobCreated(c: Context<AppEnv>, name: string, digest: string): Response {
  return c.body(null, 201, {
    Location: absoluteUrl(c, paths.blob(name, digest)),
    'Docker-Content-Digest': digest,
    'Content-Length': '0',
  });
}

function sessionResponse(c: Context<AppEnv>, name: string, session: UploadSession, status: 202 | 204): Response {
  return c.body(null, status, {
    Location: absoluteUrl(c, paths.upload(name, session.uuid)),
    Range: rangeHeader(session.offset),
    'Docker-Upload-UUID': session.uuid,
    'OCI-Chunk-Min-Length': String(chunkMinLength(c)),
    'Content-Length': '0',
  });
}

/**
 * The chunk size to ask of clients: a storage part, so chunks need no staging. Behind Lambda's
 * body cap (no upload service in front of this function) a part does not fit in one request, and
 * a client that honours the header (the spec's conformance suite does) would only get 413s; smaller
 * chunks are staged until they make a part, so the cap itself is asked for.
 */
function chunkMinLength(c: Context<AppEnv>): number {
  const { minPartSize } = c.var.deps.registry.deps.objects.limits;
  return c.var.deps.http.lambdaLimits ? Math.min(minPartSize, LAMBDA_BODY_LIMIT) : minPartSize;
}

