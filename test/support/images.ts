// Offline test images: hand-built OCI image layouts (https://github.com/opencontainers/image-spec/blob/main/image-layout.md).
// Layer bytes are generated, hashed and written as a stream, so a 4 GiB layer never sits in memory.
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

export const MEDIA_TYPES = {
  layout: '1.0.0',
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
  refName: 'org.opencontainers.image.ref.name',
} as const;

export interface Platform {
  os: string;
  architecture: string;
}

export interface LayoutImage {
  dir: string;
  tag: string;
  /** `oci:<dir>:<tag>`, for skopeo. */
  ref: string;
  manifestDigest: string;
  manifestBytes: Buffer;
  configDigest: string;
  configBytes: Buffer;
  /** Layers are uncompressed tars, so each digest is also the layer's diff_id. */
  layerDigests: string[];
  layerSizes: number[];
}

export interface LayoutIndex {
  dir: string;
  tag: string;
  ref: string;
  indexDigest: string;
  indexBytes: Buffer;
  /** One per platform, in the order given; each is also tagged `<tag>-<os>-<architecture>` in the layout. */
  images: LayoutImage[];
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

const CHUNK = 1 << 20;
const TAR_BLOCK = 512;
/** The ustar size field holds 11 octal digits. */
const TAR_MAX_FILE = 0o77777777777;

/**
 * Writes one image (config, layers, manifest) into the OCI layout at `dir` (created if needed) and
 * tags it in index.json, replacing any entry with the same tag and keeping the others.
 */
export async function buildImageLayout(opts: {
  dir: string;
  tag?: string;
  layers: Array<{ size: number; seed?: number }>;
  platform?: Platform;
  mediaTypes?: 'oci';
}): Promise<LayoutImage> {
  const tag = opts.tag ?? 'latest';
  await initLayout(opts.dir);
  const image = await writeImage(opts.dir, tag, opts.layers, opts.platform ?? { os: 'linux', architecture: 'amd64' });
  await tagInIndex(opts.dir, tag, {
    mediaType: MEDIA_TYPES.manifest,
    digest: image.manifestDigest,
    size: image.manifestBytes.length,
  });
  return image;
}

/**
 * Writes one image per platform and an image index over them, tagged `tag` in index.json.
 * Each platform gets its own layer contents (seeded from its position).
 */
export async function buildIndexLayout(opts: {
  dir: string;
  tag?: string;
  platforms: Platform[];
  layerSize?: number;
}): Promise<LayoutIndex> {
  const tag = opts.tag ?? 'latest';
  await initLayout(opts.dir);
  const images: LayoutImage[] = [];
  const manifests: Descriptor[] = [];
  for (const [i, platform] of opts.platforms.entries()) {
    const imageTag = `${tag}-${platform.os}-${platform.architecture}`;
    const image = await writeImage(opts.dir, imageTag, [{ size: opts.layerSize ?? 1 << 20, seed: 1000 + i }], platform);
    await tagInIndex(opts.dir, imageTag, {
      mediaType: MEDIA_TYPES.manifest,
      digest: image.manifestDigest,
      size: image.manifestBytes.length,
    });
    images.push(image);
    manifests.push({
      mediaType: MEDIA_TYPES.manifest,
      digest: image.manifestDigest,
      size: image.manifestBytes.length,
      platform: { architecture: platform.architecture, os: platform.os },
    });
  }
  const indexBytes = jsonBytes({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests });
  const indexDigest = await writeBlob(opts.dir, indexBytes);
  await tagInIndex(opts.dir, tag, { mediaType: MEDIA_TYPES.index, digest: indexDigest, size: indexBytes.length });
  return { dir: opts.dir, tag, ref: `oci:${opts.dir}:${tag}`, indexDigest, indexBytes, images };
}

/** Path of a blob inside an OCI layout. */
export function blobPath(dir: string, digest: string): string {
  const [algorithm, hex] = digest.split(':');
  if (!algorithm || !hex) throw new Error(`not a digest: ${digest}`);
  return join(dir, 'blobs', algorithm, hex);
}

export function sha256Digest(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Pseudo-random bytes, deterministic in (seed, size): AES-128-CTR over zeros. */
export async function* randomBytesStream(size: number, seed: number): AsyncGenerator<Buffer> {
  const key = createHash('sha256').update(`cirrus-test-seed:${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  for (let left = size; left > 0; left -= CHUNK) {
    yield cipher.update(left >= CHUNK ? zeros : zeros.subarray(0, left));
  }
}

async function writeImage(
  dir: string,
  tag: string,
  layers: Array<{ size: number; seed?: number }>,
  platform: Platform,
): Promise<LayoutImage> {
  const layerDescriptors: Descriptor[] = [];
  for (const [i, layer] of layers.entries()) {
    // Default seeds differ per layer; equal seeds and sizes give equal (deduplicated) blobs.
    const { digest, size } = await writeLayer(dir, `layer-${i}.bin`, layer.size, layer.seed ?? i + 1);
    layerDescriptors.push({ mediaType: MEDIA_TYPES.layerTar, digest, size });
  }
  const diffIds = layerDescriptors.map((d) => d.digest);
  const configBytes = jsonBytes({
    created: '2024-01-01T00:00:00Z',
    architecture: platform.architecture,
    os: platform.os,
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: diffIds.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `cirrus test layer ${i}` })),
  });
  const configDigest = await writeBlob(dir, configBytes);
  const manifestBytes = jsonBytes({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: { mediaType: MEDIA_TYPES.config, digest: configDigest, size: configBytes.length },
    layers: layerDescriptors,
  });
  const manifestDigest = await writeBlob(dir, manifestBytes);
  return {
    dir,
    tag,
    ref: `oci:${dir}:${tag}`,
    manifestDigest,
    manifestBytes,
    configDigest,
    configBytes,
    layerDigests: diffIds,
    layerSizes: layerDescriptors.map((d) => d.size),
  };
}

/** Streams a one-file tar into blobs/, hashing on the way; returns its digest and size. */
async function writeLayer(dir: string, fileName: string, fileSize: number, seed: number) {
  if (!Number.isSafeInteger(fileSize) || fileSize < 0 || fileSize > TAR_MAX_FILE) {
    throw new Error(`layer size ${fileSize} is out of range for a ustar file`);
  }
  const hash = createHash('sha256');
  let size = 0;
  async function* tar(): AsyncGenerator<Buffer> {
    const chunks = [tarHeader(fileName, fileSize), randomBytesStream(fileSize, seed), tarTrailer(fileSize)];
    for (const part of chunks) {
      for await (const chunk of Buffer.isBuffer(part) ? [part] : part) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    }
  }
  const tmp = join(dir, 'blobs', 'sha256', `.tmp-${process.pid}-${seed}-${Date.now()}`);
  await pipeline(tar(), createWriteStream(tmp));
  const digest = `sha256:${hash.digest('hex')}`;
  await rename(tmp, blobPath(dir, digest));
  return { digest, size };
}

function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(TAR_BLOCK);
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'ascii');
  const octal = (offset: number, length: number, value: number) =>
    field(offset, length - 1, value.toString(8).padStart(length - 1, '0'));
  field(0, 100, name);
  octal(100, 8, 0o644); // mode
  octal(108, 8, 0); // uid
  octal(116, 8, 0); // gid
  octal(124, 12, size);
  octal(136, 12, 1704067200); // mtime: 2024-01-01, fixed so layers are reproducible
  field(148, 8, ' '.repeat(8)); // checksum is computed with its own field as spaces
  field(156, 1, '0'); // regular file
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  field(265, 32, 'root');
  field(297, 32, 'root');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return header;
}

/** Pads the file to a block boundary, then the two zero blocks that end an archive. */
function tarTrailer(fileSize: number): Buffer {
  const padding = (TAR_BLOCK - (fileSize % TAR_BLOCK)) % TAR_BLOCK;
  return Buffer.alloc(padding + 2 * TAR_BLOCK);
}

async function initLayout(dir: string): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: MEDIA_TYPES.layout }));
}

async function writeBlob(dir: string, bytes: Buffer): Promise<string> {
  const digest = sha256Digest(bytes);
  await writeFile(blobPath(dir, digest), bytes);
  return digest;
}

async function tagInIndex(dir: string, tag: string, descriptor: Descriptor): Promise<void> {
  const path = join(dir, 'index.json');
  let manifests: Descriptor[] = [];
  try {
    manifests = (JSON.parse(await readFile(path, 'utf8')) as { manifests: Descriptor[] }).manifests;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  manifests = manifests.filter((m) => m.annotations?.[MEDIA_TYPES.refName] !== tag);
  manifests.push({ ...descriptor, annotations: { [MEDIA_TYPES.refName]: tag } });
  await writeFile(path, jsonBytes({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests }));
}

function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}
