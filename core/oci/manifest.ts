/**
 * Manifest parsing: decide the media type, check the structure, and list what the manifest
 * references so the registry can verify each reference exists before accepting it.
 */
import { checkDescriptor, isMediaType, isStringMap, type Descriptor } from './descriptor.ts';
import { MANIFEST_MEDIA_TYPES, MediaType, isIndexType } from './media-types.ts';
import { findDuplicateKey } from './strict-json.ts';

/** Manifests may reach 4 MiB (distribution-spec); larger PUTs get 413. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Docker's foreign layers live outside the registry; their bytes are never pushed. */
const FOREIGN_LAYER_TYPES = new Set([
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);

export interface ParsedManifest {
  mediaType: string;
  /** Blobs that must exist in the repository (config, layers). */
  blobs: string[];
  /** Manifests that must exist in the repository (children of an index). */
  manifests: string[];
  subject?: Descriptor;
  /** What the referrers API reports: artifactType, else the config media type (image manifests). */
  artifactType?: string;
  annotations?: Record<string, string>;
}

export type ManifestCheck = { ok: true; value: ParsedManifest } | { ok: false; reason: string; unsupported?: boolean };

/** contentType is the request's Content-Type with parameters removed (or undefined). */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined): ManifestCheck {
  let doc: unknown;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    doc = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'manifest is not valid UTF-8 JSON' };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { ok: false, reason: 'manifest is not a JSON object' };
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) return { ok: false, reason: `manifest repeats the key "${duplicate}"` };
  const m = doc as Record<string, unknown>;

  if (m.schemaVersion !== 2) {
    const schema1 = contentType === MediaType.dockerSchema1 || contentType === MediaType.dockerSchema1Signed;
    return schema1 || m.schemaVersion === 1
      ? { ok: false, reason: 'Docker schema 1 manifests are not supported', unsupported: true }
      : { ok: false, reason: 'schemaVersion must be 2' };
  }
  if (m.mediaType !== undefined && !isMediaType(m.mediaType)) return { ok: false, reason: 'mediaType is malformed' };
  const declared = m.mediaType as string | undefined;
  // A generic Content-Type (application/json, octet-stream) names nothing to contradict.
  const named = contentType !== undefined && isManifestLike(contentType) ? contentType : undefined;
  if (declared !== undefined && named !== undefined && declared !== named) {
    return { ok: false, reason: `mediaType ${declared} contradicts Content-Type ${named}` };
  }
  const mediaType = declared ?? named ?? inferMediaType(m);
  if (mediaType === undefined || !MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    return { ok: false, reason: `unsupported manifest media type ${mediaType ?? '(none)'}`, unsupported: true };
  }
  if (m.annotations !== undefined && !isStringMap(m.annotations)) {
    return { ok: false, reason: 'annotations must map strings to strings' };
  }
  if (m.artifactType !== undefined && !isMediaType(m.artifactType)) {
    return { ok: false, reason: 'artifactType is malformed' };
  }
  let subject: Descriptor | undefined;
  if (m.subject !== undefined) {
    const s = checkDescriptor(m.subject, 'subject');
    if (!s.ok) return s;
    subject = s.value;
  }
  const common = {
    mediaType,
    subject,
    annotations: m.annotations as Record<string, string> | undefined,
  };
  return isIndexType(mediaType) ? parseIndex(m, common) : parseImage(m, common);
}

type Common = Pick<ParsedManifest, 'mediaType' | 'subject' | 'annotations'>;

function parseImage(m: Record<string, unknown>, common: Common): ManifestCheck {
  if ('manifests' in m) return { ok: false, reason: 'an image manifest has no "manifests" list' };
  const config = checkDescriptor(m.config, 'config');
  if (!config.ok) return config;
  if (!Array.isArray(m.layers)) return { ok: false, reason: 'layers must be a list' };
  const blobs = [config.value.digest];
  for (const [i, raw] of m.layers.entries()) {
    const layer = checkDescriptor(raw, `layers[${i}]`);
    if (!layer.ok) return layer;
    const foreign = FOREIGN_LAYER_TYPES.has(layer.value.mediaType) && (layer.value.urls?.length ?? 0) > 0;
    if (!foreign) blobs.push(layer.value.digest);
  }
  const artifactType = (m.artifactType as string | undefined) ?? config.value.mediaType;
  return { ok: true, value: { ...common, blobs: unique(blobs), manifests: [], artifactType } };
}

function parseIndex(m: Record<string, unknown>, common: Common): ManifestCheck {
  if ('layers' in m || 'config' in m) return { ok: false, reason: 'an index has no "config" or "layers"' };
  if (!Array.isArray(m.manifests)) return { ok: false, reason: 'manifests must be a list' };
  const children: string[] = [];
  for (const [i, raw] of m.manifests.entries()) {
    const child = checkDescriptor(raw, `manifests[${i}]`);
    if (!child.ok) return child;
    children.push(child.value.digest);
  }
  const artifactType = m.artifactType as string | undefined;
  return { ok: true, value: { ...common, blobs: [], manifests: unique(children), artifactType } };
}

function isManifestLike(contentType: string): boolean {
  return (
    MANIFEST_MEDIA_TYPES.includes(contentType) ||
    contentType === MediaType.dockerSchema1 ||
    contentType === MediaType.dockerSchema1Signed
  );
}

function inferMediaType(m: Record<string, unknown>): string | undefined {
  if (Array.isArray(m.manifests)) return MediaType.ociIndex;
  if (m.config !== undefined && Array.isArray(m.layers)) return MediaType.ociManifest;
  return undefined;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
