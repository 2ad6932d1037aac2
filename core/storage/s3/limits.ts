/** S3's multipart limits, in a module of their own so a lazy store can state them without the SDK. */
import type { MultipartLimits } from '../../ports/object-store.ts';

const MiB = 1024 * 1024;
/** S3's minimum size of every part but the last. */
export const S3_MIN_PART_SIZE = 5 * MiB;

export function s3Limits(minPartSize = S3_MIN_PART_SIZE): MultipartLimits {
  return { minPartSize, maxPartSize: 5 * 1024 * MiB, maxParts: 10_000 };
}
