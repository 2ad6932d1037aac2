/** Content descriptors (OCI image spec §descriptor), validated shallowly: what the registry relies on. */
import { isDigest } from './digest.ts';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
  platform?: Record<string, unknown>;
}

export type DescriptorCheck = { ok: true; value: Descriptor } | { ok: false; reason: string };

const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export function isMediaType(value: unknown): value is string {
  return typeof value === 'string' && MEDIA_TYPE.test(value);
}

export function checkDescriptor(value: unknown, where: string): DescriptorCheck {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: `${where} is not an object` };
  }
  const d = value as Record<string, unknown>;
  if (!isMediaType(d.mediaType)) return { ok: false, reason: `${where}.mediaType is missing or malformed` };
  if (typeof d.digest !== 'string' || !isDigest(d.digest)) {
    return { ok: false, reason: `${where}.digest is missing or not a supported digest` };
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    return { ok: false, reason: `${where}.size must be a non-negative integer` };
  }
  if (d.artifactType !== undefined && !isMediaType(d.artifactType)) {
    return { ok: false, reason: `${where}.artifactType is malformed` };
  }
  if (d.annotations !== undefined && !isStringMap(d.annotations)) {
    return { ok: false, reason: `${where}.annotations must map strings to strings` };
  }
  if (d.urls !== undefined && !(Array.isArray(d.urls) && d.urls.every((u) => typeof u === 'string'))) {
    return { ok: false, reason: `${where}.urls must be a list of strings` };
  }
  return { ok: true, value: d as unknown as Descriptor };
}

export function isStringMap(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}

/** The descriptor as the referrers API lists it: only the fields the spec names. */
export function referrerDescriptor(d: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.artifactType !== undefined) out.artifactType = d.artifactType;
  if (d.annotations !== undefined) out.annotations = d.annotations;
  return out;
}
