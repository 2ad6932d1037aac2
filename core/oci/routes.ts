/**
 * The route table of the distribution API: classifies a raw `/v2/...` path and builds paths.
 * Repository names contain slashes, so a path is read from its right end, where the fixed
 * segments (manifests, blobs, uploads, tags/list, referrers) stand; whatever precedes them is the
 * name, validated separately so a malformed name gets NAME_INVALID rather than a 404.
 */

export type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'upload-start'; name: string }
  | { kind: 'upload'; name: string; uuid: string }
  | { kind: 'referrers'; name: string; digest: string }
  | { kind: 'unknown' };

export const API_PREFIX = '/v2/';

/** Classifies a path that starts with /v2 (query string removed, not percent-decoded). */
export function matchRoute(path: string): Route {
  if (path === '/v2' || path === API_PREFIX) return { kind: 'base' };
  if (!path.startsWith(API_PREFIX)) return { kind: 'unknown' };
  const segs = path.slice(API_PREFIX.length).split('/');
  const n = segs.length;
  const last = segs[n - 1] as string;
  const prev = segs[n - 2];
  const nameOf = (drop: number) => segs.slice(0, n - drop).join('/');

  if (n === 1 && last === '_catalog') return { kind: 'catalog' };
  if (n >= 3 && prev === 'tags' && last === 'list') return { kind: 'tags', name: nameOf(2) };
  if (n >= 4 && segs[n - 3] === 'blobs' && prev === 'uploads') {
    return last === '' ? { kind: 'upload-start', name: nameOf(3) } : { kind: 'upload', name: nameOf(3), uuid: last };
  }
  if (n >= 3 && prev === 'blobs' && last === 'uploads') return { kind: 'upload-start', name: nameOf(2) };
  if (n >= 3 && prev === 'manifests') return { kind: 'manifest', name: nameOf(2), reference: last };
  if (n >= 3 && prev === 'blobs') return { kind: 'blob', name: nameOf(2), digest: last };
  if (n >= 3 && prev === 'referrers') return { kind: 'referrers', name: nameOf(2), digest: last };
  return { kind: 'unknown' };
}

/** Paths (relative to the public base URL) of every resource the API names. */
export const paths = {
  base: () => API_PREFIX,
  catalog: () => `${API_PREFIX}_catalog`,
  tags: (name: string) => `${API_PREFIX}${name}/tags/list`,
  manifest: (name: string, reference: string) => `${API_PREFIX}${name}/manifests/${reference}`,
  blob: (name: string, digest: string) => `${API_PREFIX}${name}/blobs/${digest}`,
  uploads: (name: string) => `${API_PREFIX}${name}/blobs/uploads/`,
  upload: (name: string, uuid: string) => `${API_PREFIX}${name}/blobs/uploads/${uuid}`,
  referrers: (name: string, digest: string) => `${API_PREFIX}${name}/referrers/${digest}`,
};
