/**
 * Part bookkeeping for S3 multipart uploads without ListParts (local servers lack it, and it
 * would cost a paged call per completion): the ETag this adapter hands out carries the part's
 * number and size beside S3's own ETag, so completion can check sizes and compute the object's
 * length from what the caller passes back.
 */
import { StorageError, type CompletedPart } from '../../ports/object-store.ts';

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

export { partTarget } from '../../bytes/part-sizes.ts';
