/**
 * Least-privilege grants, one helper per resource kind, listing exactly the API calls the adapters
 * make (core/storage/dynamodb, core/storage/s3, functions/registry/secrets.ts) — the CDK's
 * grantReadWriteData would add Scan, batch and transactional calls the registry never makes.
 */
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

export type Access = 'read' | 'readWrite';

export const TABLE_ACTIONS: Record<Access, string[]> = {
  read: ['dynamodb:GetItem', 'dynamodb:Query'],
  readWrite: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
};

export const OBJECT_ACTIONS: Record<Access, string[]> = {
  read: ['s3:GetObject', 's3:GetObjectTagging'],
  // Multipart uploads are PutObject (create, upload part, complete) plus AbortMultipartUpload.
  readWrite: ['s3:GetObject', 's3:GetObjectTagging', 's3:PutObject', 's3:PutObjectTagging', 's3:DeleteObject', 's3:AbortMultipartUpload'],
};

/**
 * Item reads and single-item writes on the table itself (there are no indexes). `scan` adds Scan,
 * which only garbage collection needs (it walks every partition); the request path never scans.
 */
export function bindTable(grantee: iam.IGrantable, table: dynamodb.ITable, access: Access, options: { scan?: boolean } = {}): void {
  const actions = options.scan ? [...TABLE_ACTIONS[access], 'dynamodb:Scan'] : TABLE_ACTIONS[access];
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: [table.tableArn] }));
}

/** PutItem only: a writer that records and never reads (GC's start step). */
export function bindTableWriteOnly(grantee: iam.IGrantable, table: dynamodb.ITable): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [table.tableArn] }));
}

/**
 * Object calls on the bucket's objects, and ListBucket on the bucket: without it S3 answers a
 * missing key with 403 instead of 404, and the registry could not tell "absent" from "forbidden".
 */
export function bindBucket(grantee: iam.IGrantable, bucket: s3.IBucket, access: Access): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: OBJECT_ACTIONS[access], resources: [bucket.arnForObjects('*')] }));
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
  if (Construct.isConstruct(grantee)) {
    const logicalId = Stack.of(bucket).getLogicalId(bucket.node.defaultChild as CfnElement);
    Validations.of(grantee).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/*]`,
      reason: 'Object keys are chosen at run time (uploads/<uuid>, blobs by digest, manifests): the object actions are granted on the objects of this one bucket, and on nothing else.',
    });
  }
}

/** GetSecretValue on one secret (not DescribeSecret, which the code never calls). */
export function bindSecret(grantee: iam.IGrantable, secret: secretsmanager.ISecret): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }));
}

/**
 * Another region's registry, for replication to it (`-c replicateTo=<region>`): object writes in
 * its blob bucket and single-item writes in its table (`write`), or table reads (the plan compares
 * tags). Their names are CloudFormation's, generated from the stack's name and the resources'
 * logical ids (`cirrus-<region>-<blobs id>-<suffix>`, `Cirrus-<region>-<index id>-<suffix>`): the
 * grant names that pattern, so no deployed name changes and nothing is replaced. The copy is
 * server-side: the bytes are read from this region's bucket by S3 itself (the copy function's
 * GetObject on it), so there is no read grant on the other bucket beyond HeadObject's GetObject.
 */
export function bindOtherRegion(
  grantee: iam.IGrantable & Construct,
  names: { region: string; bucketPrefix: string; tableArnPrefix: string },
  access: 'read' | 'write',
): void {
  const tableArn = `${names.tableArnPrefix}*`;
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: TABLE_ACTIONS[access === 'write' ? 'readWrite' : 'read'], resources: [tableArn] }));
  const acks = [`AwsSolutions-IAM5[Resource::${tableArn}]`];
  if (access === 'write') {
    const bucketArn = `arn:aws:s3:::${names.bucketPrefix}*`;
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: OBJECT_ACTIONS.readWrite, resources: [`${bucketArn}/*`] }));
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucketArn] }));
    acks.push(`AwsSolutions-IAM5[Resource::${bucketArn}/*]`, `AwsSolutions-IAM5[Resource::${bucketArn}]`);
  }
  for (const id of acks) {
    Validations.of(grantee).acknowledge({
      id,
      reason: `Replication to ${names.region}: that stack's table and blob bucket have names CloudFormation generated (stack name, logical id, random suffix); the grant names them by that prefix, in that one region, and nothing else.`,
    });
  }
}
