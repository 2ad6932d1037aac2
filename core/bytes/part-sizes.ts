/**
 * Part sizes that grow with the upload, so 10,000 parts pass S3's 5 TiB object limit while small
 * uploads use small parts: 8 MiB for the first thousand parts, doubling every thousand (the last
 * thousand are 4 GiB, under S3's 5 GiB ceiling). A store without a part ceiling takes one part.
 */
export interface PartLimits {
  minPartSize: number;
  maxPartSize: number;
}

const MiB = 1024 * 1024;

export function partTarget(partNumber: number, limits: PartLimits): number {
  if (limits.maxPartSize >= Number.MAX_SAFE_INTEGER) return Number.MAX_SAFE_INTEGER;
  const doublings = Math.min(Math.floor((partNumber - 1) / 1000), 9);
  return Math.min(Math.max(8 * MiB * 2 ** doublings, limits.minPartSize), limits.maxPartSize);
}
