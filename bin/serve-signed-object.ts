/**
 * Serves the filesystem store's signed URLs (its stand-in for S3 presigned GETs): verifies the
 * signature and expiry, then streams the file with Range support, straight from disk. A blob's
 * bytes carry its digest (the tag set at commit) as Docker-Content-Digest: a GET of a blob ends
 * here after the redirect, and the spec's main branch requires the header on that answer.
 */
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { codes, toErrorResponse, writeNodeError, type ErrorCode } from '../core/errors/index.ts';
import type { FsObjectStore } from '../core/storage/fs/fs-object-store.ts';
import { verifySignedPath } from '../core/storage/fs/signed-url.ts';

export async function serveSignedObject(
  req: IncomingMessage,
  res: ServerResponse,
  objects: FsObjectStore,
  secret: Uint8Array,
): Promise<number> {
  const url = new URL(req.url ?? '/', 'http://local');
  if (req.method !== 'GET' && req.method !== 'HEAD') return deny(res, codes.UNSUPPORTED, 'only GET and HEAD');
  const check = verifySignedPath(secret, url.pathname, url.searchParams, Math.floor(Date.now() / 1000));
  if (!check.ok) return deny(res, codes.DENIED, `signed URL ${check.reason}`);
  const path = objects.pathOf(check.key);
  const info = await objects.head(check.key).catch(() => undefined);
  if (!info) return deny(res, codes.BLOB_UNKNOWN, 'object not found');

  const range = parseRange(req.headers.range, info.size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'Content-Range': `bytes */${info.size}` }).end();
    return 416;
  }
  const [start, end] = range ?? [0, info.size - 1];
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(Math.max(end - start + 1, 0)),
    'Accept-Ranges': 'bytes',
  };
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${info.size}`;
  if (info.tags?.digest) headers['Docker-Content-Digest'] = info.tags.digest;
  const status = range ? 206 : 200;
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || info.size === 0) {
    res.end();
    return status;
  }
  await pipeline(createReadStream(path, { start, end, highWaterMark: 1024 * 1024 }), res).catch(() => res.destroy());
  return status;
}

/** A single `bytes=` range; multiple ranges are served whole (as S3 does). */
function parseRange(header: string | undefined, size: number): [number, number] | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(size - Number(m[2]), 0);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return [start, end];
}

function deny(res: ServerResponse, code: ErrorCode, message: string): number {
  const error = toErrorResponse(code, { message });
  writeNodeError(res, error);
  return error.status;
}
