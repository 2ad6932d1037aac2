// Plain HTTP reads against a registry under test, to check what it stores independently of clients.
import { gunzipSync } from 'node:zlib';
import { sha256Digest } from './images.ts';

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export interface ManifestHead {
  status: number;
  digest: string | null;
  mediaType: string | null;
  size: number;
}

/** HEAD /v2/<repo>/manifests/<reference>. */
export async function headManifest(baseUrl: string, repo: string, reference: string): Promise<ManifestHead> {
  const res = await fetch(`${baseUrl}/v2/${repo}/manifests/${reference}`, {
    method: 'HEAD',
    headers: { Accept: MANIFEST_ACCEPT },
  });
  return {
    status: res.status,
    digest: res.headers.get('docker-content-digest'),
    mediaType: res.headers.get('content-type'),
    size: Number(res.headers.get('content-length') ?? -1),
  };
}

export interface FetchedManifest {
  bytes: Buffer;
  /** sha256 of the bytes served. */
  digest: string;
  /** The Docker-Content-Digest header. */
  headerDigest: string | null;
  mediaType: string | null;
  json: ManifestJson;
}

export interface ManifestJson {
  mediaType?: string;
  config?: { mediaType: string; digest: string; size: number };
  layers?: Array<{ mediaType: string; digest: string; size: number }>;
  manifests?: Array<{ mediaType: string; digest: string; size: number; platform?: { os: string; architecture: string } }>;
}

/** GET /v2/<repo>/manifests/<reference>; throws unless 200. */
export async function getManifest(baseUrl: string, repo: string, reference: string): Promise<FetchedManifest> {
  const res = await fetch(`${baseUrl}/v2/${repo}/manifests/${reference}`, { headers: { Accept: MANIFEST_ACCEPT } });
  const bytes = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`GET manifest ${repo}:${reference}: ${res.status} ${bytes.toString('utf8')}`);
  return {
    bytes,
    digest: sha256Digest(bytes),
    headerDigest: res.headers.get('docker-content-digest'),
    mediaType: res.headers.get('content-type'),
    json: JSON.parse(bytes.toString('utf8')) as ManifestJson,
  };
}

/** GET /v2/<repo>/blobs/<digest> (following redirects); throws unless 200. */
export async function getBlob(baseUrl: string, repo: string, digest: string): Promise<Buffer> {
  const res = await fetch(`${baseUrl}/v2/${repo}/blobs/${digest}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`GET blob ${repo}@${digest}: ${res.status} ${bytes.toString('utf8').slice(0, 500)}`);
  return bytes;
}

/** The diff_id of a layer blob: sha256 of its uncompressed tar (gzip is undone; zstd is not expected here). */
export function diffIdOf(layer: Buffer): string {
  const gzipped = layer.length > 2 && layer[0] === 0x1f && layer[1] === 0x8b;
  return sha256Digest(gzipped ? gunzipSync(layer) : layer);
}
