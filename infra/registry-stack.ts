/**
 * One registry in one region: storage, the registry function behind a Function URL only CloudFront
 * may call, the upload service, the viewer-request handler (in us-east-1), the distribution, and
 * alarms and a dashboard. `infra/app.ts` makes one per region named in context.
 */
import { Annotations, CfnOutput, Duration, Stack, Validations, type CfnElement, type StackProps } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
// The one runtime module infra imports: names and zod fragments only (see its header).
import { environmentFor, gcTaskEnv, registryFunctionEnv, type EnvironmentOf } from '../core/config/env.ts';
import { ENTRIES } from './bundle/esbuild.ts';
import { bindBucket, bindOtherRegion, bindSecret, bindTable, bindTableWriteOnly } from './constructs/bind.ts';
import { RegistryCdn, type CacheSettings } from './constructs/cdn.ts';
import { GcStateMachine } from './constructs/gc-state-machine.ts';
import { ReplicationStateMachine } from './constructs/replication-state-machine.ts';
import { ReplicationTriggers } from './constructs/replication-triggers.ts';
import { Observability } from './constructs/observability.ts';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { RegistryFunction } from './constructs/registry-function.ts';
import { RegistryStorage } from './constructs/storage.ts';
import { UploadService } from './constructs/upload-service.ts';
import { ViewerRequestFunction } from './constructs/viewer-request.ts';

export const METRICS_NAMESPACE = 'Cirrus';

export interface RegistryStackProps extends StackProps {
  auth: { service: string; issuer: string; publicKeys: string[]; throwaway?: boolean } | false;
  domain?: { name: string; certificateArn: string };
  uploadService: { minTasks: number; maxTasks: number } | false;
  storageQuotaBytes: number;
  alarmTopicArn?: string;
  webAclArn?: string;
  originSecretGeneration: number;
  cache: CacheSettings;
  priceClass?: '100' | '200' | 'All';
  /** Already-built code (tests): directories for the registry function (also used for the GC tasks), the edge and the upload image. */
  prebuilt?: { registry?: string; edge?: string; uploadService?: string };
  /** Garbage collection schedule: on (daily at 03:00 UTC) unless false. */
  gcSchedule?: boolean;
  /** Regions of other Cirrus stacks this one replicates to (`cirrus-region://` rules): the replication tasks get their table and bucket. */
  replicateTo?: string[];
}

export class RegistryStack extends Stack {
  readonly storage: RegistryStorage;
  readonly registry: RegistryFunction;
  readonly functionUrl: lambda.FunctionUrl;
  readonly uploads?: UploadService;
  readonly edge: ViewerRequestFunction;
  readonly cdn: RegistryCdn;
  readonly observability: Observability;
  readonly originSecret: secretsmanager.Secret;
  readonly signingKey?: secretsmanager.Secret;
  readonly gc: GcStateMachine;
  readonly replication: ReplicationStateMachine;

  constructor(scope: Construct, id: string, props: RegistryStackProps) {
    super(scope, id, props);
    this.storage = new RegistryStorage(this, 'Storage');
    const { bucket, table, logs } = this.storage;

    this.originSecret = new secretsmanager.Secret(this, 'OriginSecret', {
      description: 'Cirrus: the header value CloudFront sends to the origins, which refuse requests without it',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    Validations.of(this.originSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Rotated by hand (README "Rotate the origin secret"): CloudFront reads the value at deploy time, so a rotation is a secret update followed by a deploy; origins accept the previous value meanwhile.',
    });
    if (props.auth) {
      this.signingKey = new secretsmanager.Secret(this, 'SigningKey', {
        description: 'Cirrus: the ES256 private key (JWK or PKCS#8 PEM) that signs tokens; replace the generated placeholder (README "Deploy to AWS")',
        generateSecretString: { passwordLength: 32, excludePunctuation: true },
      });
      Validations.of(this.signingKey).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'Rotated by hand (README "Rotate the signing key"): the public half is bundled into the edge handler, so a rotation needs a deploy of the new public key before the private one changes.',
      });
      if (props.auth.throwaway) {
        Annotations.of(this).addWarningV2(
          'cirrus:throwaway-signing-key',
          'No signing public key given (-c signingPublicKeyFile=… or -c signingPublicKey=…): the edge handler bundles a THROWAWAY key, so no token will verify until you deploy with yours (README "Deploy to AWS").',
        );
      }
    }

    // Names and values checked against the functions' schema (core/config/env.ts).
    const environment: EnvironmentOf<typeof registryFunctionEnv> = {
      CIRRUS_TABLE: table.tableName,
      CIRRUS_BUCKET: bucket.bucketName,
      CIRRUS_ORIGIN_SECRET_ARN: this.originSecret.secretArn,
      CIRRUS_AUTH: props.auth ? 'on' : 'off',
      CIRRUS_SIGNED_URL_SECONDS: String(props.cache.signedUrlSeconds),
      CIRRUS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      CIRRUS_HASH_MODE: 'resumable',
    };
    if (props.auth && this.signingKey) {
      Object.assign(environment, {
        CIRRUS_SIGNING_KEY_SECRET_ARN: this.signingKey.secretArn,
        CIRRUS_AUTH_SERVICE: props.auth.service,
        CIRRUS_AUTH_ISSUER: props.auth.issuer,
      });
    }
    if (props.domain) environment.CIRRUS_PUBLIC_URL = `https://${props.domain.name}`;

    this.registry = new RegistryFunction(this, 'Registry', {
      entry: ENTRIES.registry,
      description: 'Cirrus registry (OCI distribution API and /token)',
      environment: environmentFor(registryFunctionEnv, { ...environment, CIRRUS_SERVICE: 'registry' }),
      prebuilt: props.prebuilt?.registry,
    });
    const grantees: iam.IGrantable[] = [this.registry.role];
    this.functionUrl = this.registry.fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE, invokeMode: lambda.InvokeMode.BUFFERED });

    if (props.uploadService) {
      this.uploads = new UploadService(this, 'Uploads', {
        logsBucket: logs,
        environment: environmentFor(registryFunctionEnv, { ...environment, CIRRUS_SERVICE: 'upload-service' }),
        minTasks: props.uploadService.minTasks,
        maxTasks: props.uploadService.maxTasks,
        prebuilt: props.prebuilt?.uploadService,
      });
      grantees.push(this.uploads.taskRole);
    }
    for (const grantee of grantees) {
      bindTable(grantee, table, 'readWrite');
      bindBucket(grantee, bucket, 'readWrite');
      bindSecret(grantee, this.originSecret);
      if (this.signingKey) bindSecret(grantee, this.signingKey);
    }

    this.edge = new ViewerRequestFunction(this, 'ViewerRequest', {
      config: {
        auth: props.auth ? { service: props.auth.service, issuer: props.auth.issuer, publicKeys: props.auth.publicKeys } : false,
        bodyLimit: props.uploadService ? 'except-uploads' : 'all',
        publicUrl: props.domain ? `https://${props.domain.name}` : undefined,
        scheme: 'https',
      },
      prebuilt: props.prebuilt?.edge,
      edgeStackId: `${this.stackName}-edge`,
    });

    this.cdn = new RegistryCdn(this, 'Cdn', {
      functionUrl: this.functionUrl,
      uploadBalancer: this.uploads?.loadBalancer,
      viewerRequest: this.edge.edgeFunction,
      originSecret: this.originSecret.secretValue.unsafeUnwrap(),
      originGeneration: props.originSecretGeneration,
      cache: props.cache,
      logsBucket: logs,
      domain: props.domain,
      webAclArn: props.webAclArn,
      priceClass: priceClassOf(props.priceClass),
    });

    // Behind its load balancer the upload service sees plain HTTP and its own host: give it the
    // viewers' URL (no cycle here, unlike the function, which CloudFront's origin depends on; the
    // function reads the viewer's host from the edge's header instead, always https).
    if (this.uploads) {
      const container = this.uploads.service.taskDefinition.defaultContainer!;
      const late = environmentFor(registryFunctionEnv, { CIRRUS_PUBLIC_URL: props.domain ? `https://${props.domain.name}` : `https://${this.cdn.distribution.distributionDomainName}` });
      for (const [name, value] of Object.entries(late)) container.addEnvironment(name, value);
    }

    this.observability = new Observability(this, 'Observability', {
      namespace: METRICS_NAMESPACE,
      service: 'registry',
      fn: this.registry.fn,
      table,
      bucket,
      storageQuotaBytes: props.storageQuotaBytes,
      uploadTargetGroup: this.uploads?.targetGroup,
      uploadBalancer: this.uploads?.loadBalancer,
      alarmTopicArn: props.alarmTopicArn,
      dashboardName: `${this.stackName}`,
    });

    // Garbage collection (DESIGN §6): four task functions, each with what its step touches.
    const gcTask = (id: string, dir: string, description: string) =>
      new RegistryFunction(this, id, {
        entry: `functions/${dir}/index.ts`,
        description,
        environment: environmentFor(gcTaskEnv, { CIRRUS_TABLE: table.tableName, CIRRUS_BUCKET: bucket.bucketName }),
        memorySize: 512,
        // A step stops taking pages after 60 s; the last page still has to finish.
        timeout: Duration.minutes(3),
        prebuilt: props.prebuilt?.registry,
      });
    const gcStart = gcTask('GcStart', 'gc-start', 'Cirrus GC: opens a run');
    const gcMark = gcTask('GcMark', 'gc-mark', 'Cirrus GC: retention and marking, a page at a time');
    const gcSweep = gcTask('GcSweep', 'gc-sweep', 'Cirrus GC: sweeps and cleanup, a page at a time');
    const gcFinish = gcTask('GcFinish', 'gc-finish', 'Cirrus GC: merges the report (no storage access)');
    bindTableWriteOnly(gcStart.role, table);
    for (const step of [gcMark, gcSweep]) {
      bindTable(step.role, table, 'readWrite', { scan: true });
      bindBucket(step.role, bucket, 'readWrite');
    }
    this.gc = new GcStateMachine(this, 'Gc', {
      start: gcStart.fn,
      mark: gcMark.fn,
      sweep: gcSweep.fn,
      finish: gcFinish.fn,
      scheduleEnabled: props.gcSchedule ?? true,
    });
    this.acknowledgeWorkflow(this.gc.stateMachine, [gcStart, gcMark, gcSweep, gcFinish], 'GC',
      'GC logs failures (level ERROR) and every deletion as a gc.delete line from its task functions; ALL would log each of the thousands of page transitions of a large run, to no one\'s use.');

    // Replication (DESIGN §6): three task functions. The copy reads and writes this registry's
    // index and bytes (a pull rule mirrors into it) and talks to remote registries over the internet.
    const replicationTask = (id: string, dir: string, description: string, timeout: Duration, memorySize: number) =>
      new RegistryFunction(this, id, {
        entry: `functions/${dir}/index.ts`,
        description,
        environment: environmentFor(gcTaskEnv, { CIRRUS_TABLE: table.tableName, CIRRUS_BUCKET: bucket.bucketName }),
        memorySize,
        timeout,
        prebuilt: props.prebuilt?.registry,
      });
    const replicationPlan = replicationTask('ReplicationPlan', 'replication-plan', 'Cirrus replication: opens a run, then a page of work at a time', Duration.minutes(3), 512);
    // One item may be a large blob: 8 MiB chunks in memory, resumable from the destination's offset when the 15 minutes run out.
    const replicationCopy = replicationTask('ReplicationCopy', 'replication-copy', 'Cirrus replication: copies one tag (blobs, manifests, referrers, then the tag)', Duration.minutes(15), 1024);
    const replicationFinish = replicationTask('ReplicationFinish', 'replication-finish', 'Cirrus replication: records the run in the rule status', Duration.minutes(1), 256);
    bindTable(replicationPlan.role, table, 'read');
    bindTable(replicationCopy.role, table, 'readWrite');
    bindBucket(replicationCopy.role, bucket, 'readWrite');
    bindTable(replicationFinish.role, table, 'readWrite');
    // Another region's stack is this one deployed there (`Cirrus-<region>`, same construct tree):
    // its generated names start with its stack name and the same logical ids.
    for (const region of (props.replicateTo ?? []).filter((r) => r !== this.region)) {
      const stackName = `Cirrus-${region}`;
      const names = {
        region,
        bucketPrefix: `${stackName}-${this.getLogicalId(bucket.node.defaultChild as CfnElement)}-`.toLowerCase(),
        tableArnPrefix: `arn:aws:dynamodb:${region}:${this.account}:table/${stackName}-${this.getLogicalId(table.node.defaultChild as CfnElement)}-`,
      };
      bindOtherRegion(replicationCopy.role, names, 'write');
      bindOtherRegion(replicationPlan.role, names, 'read');
    }
    this.replication = new ReplicationStateMachine(this, 'Replication', { plan: replicationPlan.fn, copy: replicationCopy.fn, finish: replicationFinish.fn });
    const triggers = new ReplicationTriggers(this, 'ReplicationTriggers', { stateMachine: this.replication.stateMachine, table });
    Validations.of(triggers).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Reading a DynamoDB stream needs dynamodb:ListStreams, which has no resource-level permission; the stream itself is granted by its ARN.',
    });
    this.acknowledgeWorkflow(this.replication.stateMachine, [replicationPlan, replicationCopy, replicationFinish], 'replication',
      'Replication logs failures (level ERROR); each run records its counters and failures in the rule status item, and every replicated write is audited by the copy task.');

    const url = props.domain ? `https://${props.domain.name}` : `https://${this.cdn.distribution.distributionDomainName}`;
    new CfnOutput(this, 'RegistryUrl', { value: url, description: 'Point clients here (docker login <host>)' });
    new CfnOutput(this, 'DistributionDomainName', { value: this.cdn.distribution.distributionDomainName });
    new CfnOutput(this, 'DistributionId', { value: this.cdn.distribution.distributionId });
    new CfnOutput(this, 'BucketName', { value: bucket.bucketName });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'OriginSecretArn', { value: this.originSecret.secretArn });
    if (this.signingKey) new CfnOutput(this, 'SigningKeySecretArn', { value: this.signingKey.secretArn });
    new CfnOutput(this, 'GcStateMachineArn', { value: this.gc.stateMachine.stateMachineArn });
    new CfnOutput(this, 'ReplicationStateMachineArn', { value: this.replication.stateMachine.stateMachineArn });
  }

  /** cdk-nag's findings on a workflow's state machine, each with the reason it is acceptable. */
  private acknowledgeWorkflow(stateMachine: sfn.StateMachine, tasks: RegistryFunction[], what: string, loggingReason: string): void {
    for (const task of tasks) {
      Validations.of(stateMachine.role.node.scope!).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(task.fn.node.defaultChild as never)}.Arn>:*]`,
        reason: `Step Functions may invoke any version of a ${what} task function (CDK grants function:* for versions and aliases); it is that one function.`,
      });
    }
    Validations.of(stateMachine).acknowledge({ id: 'AwsSolutions-SF1', reason: loggingReason });
    Validations.of(stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing and log delivery to CloudWatch Logs have no resource-level permissions (PutTraceSegments, CreateLogDelivery…): AWS documents them on *.',
    });
  }
}

function priceClassOf(value: RegistryStackProps['priceClass']): cloudfront.PriceClass {
  return value === 'All' ? cloudfront.PriceClass.PRICE_CLASS_ALL : value === '200' ? cloudfront.PriceClass.PRICE_CLASS_200 : cloudfront.PriceClass.PRICE_CLASS_100;
}
