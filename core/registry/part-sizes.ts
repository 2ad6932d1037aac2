/**
 * Part sizes that grow with the upload, so 10,000 parts reach S3's 5 TiB object limit while
 * small uploads use small parts: 8 MiB for the first thousand parts, doubling every thousand
 * (the last thousand are 4 GiB, under S3's 5 GiB part ceiling; the sum passes 8 TiB).
 */
import type { MultipartLimits } from '../ports/object-store.ts';

const MiB = 1024 * 1024;

export function partTarget(partNumber: number, limits: MultipartLimits): number {
  if (limits.maxPartSize >= Number.MAX_SAFE_INTEGER) return Number.MAX_SAFE_INTEGER;
  const doublings = Math.min(Math.floor((partNumber - 1) / 1000), 9);
  return Math.min(Math.max(8 * MiB * 2 ** doublings, limits.minPartSize), limits.maxPartSize);
}
