/**
 * Part bookkeeping for S3 multipart uploads without ListParts (local servers lack it, and it
 * would cost a paged call per completion): the ETag this adapter hands out carries the part's
 * number and size beside S3's own ETag, so completion can check sizes and compute the object's
 * length from what the caller passes back.
 */
import { StorageError, type CompletedPart, type MultipartLimits } from '../../ports/object-store.ts';

const MiB = 1024 * 1024;

export function encodePartTag(partNumber: number, size: number, s3ETag: string): string {
  return `${partNumber}.${size}.${s3ETag.replace(/"/g, '')}`;
}

/** S3's quoted ETag and the part's size; an ETag this adapter did not hand out for this part number is an invalid part. */
export function decodePartTag(part: CompletedPart): { etag: string; size: number } {
  const match = /^(\d+)\.(\d+)\.([^".]+)$/.exec(part.etag);
  if (!match || Number(match[1]) !== part.partNumber) {
    throw new StorageError(`part ${part.partNumber} has an unknown ETag ${JSON.stringify(part.etag)}`, 'invalid-part');
  }
  return { etag: `"${match[3]}"`, size: Number(match[2]) };
}

/**
 * Part sizes for a body of unknown length: 8 MiB for the first thousand parts, doubling every
 * thousand up to S3's 5 GiB ceiling, so 10,000 parts pass S3's 5 TiB object limit while a small
 * body uses small parts. (The registry's upload sessions follow the same curve.)
 */
export function partTarget(partNumber: number, limits: MultipartLimits): number {
  const doublings = Math.min(Math.floor((partNumber - 1) / 1000), 9);
  return Math.min(Math.max(8 * MiB * 2 ** doublings, limits.minPartSize), limits.maxPartSize);
}
