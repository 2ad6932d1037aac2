// Reading OCI image layouts back (what a client wrote after a pull), to compare with the source.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MEDIA_TYPES, blobPath, sha256Digest } from './images.ts';
import type { ManifestJson } from './registry-api.ts';

export interface LayoutEntry {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  json: ManifestJson;
}

/** The manifest or index tagged `tag` in the layout's index.json. */
export async function readLayoutEntry(dir: string, tag: string): Promise<LayoutEntry> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string; mediaType: string; annotations?: Record<string, string> }>;
  };
  const entry = index.manifests.find((m) => m.annotations?.[MEDIA_TYPES.refName] === tag);
  if (!entry) throw new Error(`no ${tag} in ${dir}/index.json: ${JSON.stringify(index)}`);
  return readLayoutBlobEntry(dir, entry.digest, entry.mediaType);
}

/** A manifest stored as a blob of the layout, checked against its digest. */
export async function readLayoutBlobEntry(dir: string, digest: string, mediaType?: string): Promise<LayoutEntry> {
  const bytes = await readLayoutBlob(dir, digest);
  const json = JSON.parse(bytes.toString('utf8')) as ManifestJson;
  return { digest, mediaType: mediaType ?? json.mediaType ?? '', bytes, json };
}

/** A blob of the layout; throws when its bytes do not hash to its name. */
export async function readLayoutBlob(dir: string, digest: string): Promise<Buffer> {
  const bytes = await readFile(blobPath(dir, digest));
  const actual = sha256Digest(bytes);
  if (actual !== digest) throw new Error(`${blobPath(dir, digest)} hashes to ${actual}`);
  return bytes;
}
