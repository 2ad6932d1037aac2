/**
 * The S3 client the adapter expects. Checksums only where S3 requires them: with the SDK's
 * default (WHEN_SUPPORTED) a presigned GET carries a checksum of an empty body and asks for
 * checksum validation, which breaks the URL on local servers and skews it on real S3; streamed
 * puts would also need trailing checksums that local servers do not parse.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export function createS3Client(config: S3ClientConfig): S3Client {
  return new S3Client({ ...config, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
}
