/**
 * Accept, normalised for the cache key of manifest routes. Clients list the same types in many
 * orders, with parameters and spaces; the origin only asks whether the stored manifest's type is
 * listed (core/http/handlers/manifests.ts `accepts`). The normal form gives the same answer for
 * every manifest: no header when any type would do (a wildcard, or no manifest type listed),
 * else the listed types, lower-case, without parameters, deduplicated and sorted.
 */
import { MANIFEST_MEDIA_TYPES } from '../../core/oci/media-types.ts';

export function normaliseAccept(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const types = [...new Set(header.split(',').map((t) => t.split(';')[0]!.trim().toLowerCase()).filter(Boolean))];
  if (types.includes('*/*') || types.includes('application/*')) return undefined;
  if (!types.some((t) => MANIFEST_MEDIA_TYPES.includes(t))) return undefined;
  return types.sort().join(',');
}
