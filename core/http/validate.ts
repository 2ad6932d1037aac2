/** Path parameter checks shared by the handlers: each malformed value gets its spec error. */
import { codes, RegistryError } from '../errors/index.ts';
import { isDigest, isRepositoryName, isTag } from '../oci/index.ts';

export function requireName(name: string): string {
  if (!isRepositoryName(name)) throw new RegistryError(codes.NAME_INVALID, { detail: { name: name.slice(0, 300) } });
  return name;
}

export function requireDigest(digest: string | undefined): string {
  if (digest === undefined || !isDigest(digest)) {
    throw new RegistryError(codes.DIGEST_INVALID, { message: 'malformed or unsupported digest', detail: { digest: digest?.slice(0, 300) } });
  }
  return digest;
}

export function requireTag(tag: string): string {
  if (!isTag(tag)) throw new RegistryError(codes.MANIFEST_INVALID, { message: 'malformed tag', detail: { tag: tag.slice(0, 300) } });
  return tag;
}

/** A manifest reference: a digest (with a colon) or a tag. */
export function requireReference(reference: string): { digest?: string; tag?: string } {
  return reference.includes(':') ? { digest: requireDigest(reference) } : { tag: requireTag(reference) };
}

/** `n` of the paging APIs: absent, or an integer 0..10000 (larger is clamped to the page size). */
export function pageSize(raw: string | undefined, max: number): number {
  if (raw === undefined || raw === '') return max;
  if (!/^\d{1,9}$/.test(raw)) throw new RegistryError(codes.UNSUPPORTED, { status: 400, message: 'n must be a non-negative integer' });
  return Math.min(Number(raw), max);
}
