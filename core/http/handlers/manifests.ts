/** /v2/<name>/manifests/<reference>: GET, HEAD, PUT, DELETE. */
import type { Context } from 'hono';
import { codes, RegistryError } from '../../errors/index.ts';
import { MANIFEST_MEDIA_TYPES, MAX_MANIFEST_BYTES, paths } from '../../oci/index.ts';
import type { AppEnv } from '../app-env.ts';
import { readBody } from '../request-body.ts';
import { absoluteUrl } from '../urls.ts';
import { requireReference, requireTag } from '../validate.ts';

export async function getManifest(c: Context<AppEnv>, name: string, reference: string, head: boolean): Promise<Response> {
  const ref = lookupReference(reference);
  const { manifests } = c.var.deps.registry;
  const found = head ? await manifests.stat(name, reference) : await manifests.get(name, reference);
  if (!found) throw new RegistryError(codes.MANIFEST_UNKNOWN, { detail: ref });
  if (!accepts(c.req.header('accept'), found.mediaType)) {
    throw new RegistryError(codes.MANIFEST_UNKNOWN, { message: `manifest is ${found.mediaType}, which the Accept header excludes` });
  }
  const headers = {
    'Content-Type': found.mediaType,
    'Content-Length': String(found.size),
    'Docker-Content-Digest': found.digest,
    ETag: `"${found.digest}"`,
  };
  if (head || !('body' in found)) return c.body(null, 200, headers);
  return c.body(found.body as Uint8Array<ArrayBuffer>, 200, headers);
}

export async function putManifest(c: Context<AppEnv>, name: string, reference: string): Promise<Response> {
  const ref = requireReference(reference);
  const tagParams = (c.req.queries('tag') ?? []).map(requireTag);
  const tags = [...(ref.tag ? [ref.tag] : []), ...tagParams];
  const body = await readBody(c, MAX_MANIFEST_BYTES);
  const contentType = c.req.header('content-type')?.split(';')[0]?.trim() || undefined;
  const stored = await c.var.deps.registry.manifests.put({ name, tags: [...new Set(tags)], digest: ref.digest, body, contentType });
  const headers: Record<string, string> = {
    Location: absoluteUrl(c, paths.manifest(name, stored.digest)),
    'Docker-Content-Digest': stored.digest,
  };
  if (stored.subject) headers['OCI-Subject'] = stored.subject;
  // The spec's main branch: a push with `tag` parameters MUST name every accepted tag in OCI-Tag.
  if (tagParams.length > 0) headers['OCI-Tag'] = [...new Set(tags)].join(', ');
  return c.body(null, 201, headers);
}

export async function deleteManifest(c: Context<AppEnv>, name: string, reference: string): Promise<Response> {
  const ref = requireReference(reference);
  const { manifests } = c.var.deps.registry;
  const deleted = ref.digest ? await manifests.delete(name, ref.digest) : await manifests.deleteTag(name, ref.tag as string);
  if (!deleted) throw new RegistryError(codes.MANIFEST_UNKNOWN, { detail: ref });
  return c.body(null, 202);
}

/**
 * A GET or HEAD names something to read: a reference that is no valid tag or digest names nothing
 * stored, so it is unknown (404), as the spec's conformance suite expects ("GET nonexistent manifest"
 * asks for `.INVALID_MANIFEST_NAME`) and as Distribution answers. A PUT or DELETE of one stays a 400:
 * there the malformed reference is the client's input to a write.
 */
function lookupReference(reference: string): { digest?: string; tag?: string } {
  try {
    return requireReference(reference);
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error;
    throw new RegistryError(codes.MANIFEST_UNKNOWN, { message: `${error.message}: no manifest can have this reference`, detail: { reference: reference.slice(0, 300) } });
  }
}

/**
 * Content negotiation: serve the stored manifest unless the client lists manifest types and
 * none of them, nor a wildcard, matches (then it could not parse what we would send).
 */
function accepts(header: string | undefined, mediaType: string): boolean {
  if (!header) return true;
  const types = header.split(',').map((t) => t.split(';')[0]!.trim().toLowerCase()).filter(Boolean);
  if (types.includes(mediaType) || types.includes('*/*') || types.includes('application/*')) return true;
  return !types.some((t) => MANIFEST_MEDIA_TYPES.includes(t));
}
