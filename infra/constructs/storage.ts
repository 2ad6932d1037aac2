/**
 * The registry's state in one region: the blob bucket, the index table, and a bucket for access
 * logs (S3 server access logs, CloudFront standard logs, load balancer logs, VPC flow logs).
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface RegistryStorageProps {
  /** Days before an unfinished multipart upload's parts are deleted (the registry aborts its own sooner). */
  abortIncompleteUploadsAfterDays?: number;
  /** Days access logs are kept. */
  logRetentionDays?: number;
}

export class RegistryStorage extends Construct {
  readonly bucket: s3.Bucket;
  readonly logs: s3.Bucket;
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: RegistryStorageProps = {}) {
    super(scope, id);
    this.logs = new s3.Bucket(this, 'Logs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // CloudFront standard logging writes with ACLs: the bucket must accept them.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(props.logRetentionDays ?? 90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.logs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket itself; logging its own accesses into itself would loop.',
    });

    this.bucket = new s3.Bucket(this, 'Blobs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.logs,
      serverAccessLogsPrefix: 's3-blobs/',
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(props.abortIncompleteUploadsAfterDays ?? 3) }],
      // Blobs are what the registry is for: deleting the stack never deletes them.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.table = new dynamodb.Table(this, 'Index', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      // Encrypted at rest with an AWS-owned key: free, and no KMS permission to hand out.
      encryption: dynamodb.TableEncryption.DEFAULT,
      // The change stream replication's on-push trigger reads (tag and manifest writes, new images).
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
