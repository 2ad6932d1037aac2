/**
 * The registry stack, resource by resource (one synth for the file, over stub code): storage
 * hardening, origin locking, each role's exact permissions, the cache behaviours and the alarms.
 */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ORIGIN_SECRET_HEADER } from '../../core/http/edge-headers.ts';
import { PATHS } from '../../infra/constructs/cdn.ts';
import { OBJECT_ACTIONS, TABLE_ACTIONS } from '../../infra/constructs/bind.ts';
import { UPLOAD_VPC_CIDR } from '../../infra/constructs/upload-service.ts';
import type { RegistryStack } from '../../infra/registry-stack.ts';
import { synthApp } from './support.ts';

let stack: RegistryStack;
let t: Template;
let edge: Template;
const QUOTA_GIB = 200;

beforeAll(() => {
  const { app, stacks } = synthApp({ storageQuotaGiB: String(QUOTA_GIB), alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops' });
  stack = stacks['Cirrus-eu-west-1']!;
  t = Template.fromStack(stack);
  edge = Template.fromStack(app.node.findChild('Cirrus-eu-west-1-edge') as Stack);
});

const ref = (construct: { node: { defaultChild?: unknown } }) => ({ Ref: stack.getLogicalId(construct.node.defaultChild as never) });
const arnOf = (construct: { node: { defaultChild?: unknown } }) => ({ 'Fn::GetAtt': [stack.getLogicalId(construct.node.defaultChild as never), 'Arn'] });

describe('storage', () => {
  it('blob bucket: public access blocked, encrypted, TLS only, incomplete multipart uploads aborted after 3 days, retained', () => {
    t.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        LifecycleConfiguration: { Rules: [Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 3 }, Status: 'Enabled' })] },
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: 's3-blobs/' }),
      }),
      DeletionPolicy: 'Retain',
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: ref(stack.storage.bucket),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Principal: { AWS: '*' } }),
        ]),
      },
    });
  });

  it('log bucket: public access blocked, encrypted, TLS only, expiring', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] },
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 90 })] },
    });
    t.resourceCountIs('AWS::S3::Bucket', 2);
    t.resourcePropertiesCountIs('AWS::S3::BucketPolicy', { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) } }, 2);
  });

  it('index table: pk/sk strings, on demand, point-in-time recovery, deletion protection, retained', () => {
    t.resourceCountIs('AWS::DynamoDB::Table', 1);
    t.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      },
      DeletionPolicy: 'Retain',
    });
  });
});

describe('registry function', () => {
  it('Node 22 on arm64, ESM bundle handler, own log group, source maps, config in the environment (ARNs, never secret values)', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      LoggingConfig: { LogGroup: ref(stack.registry.logGroup) },
      Environment: {
        Variables: Match.objectLike({
          NODE_OPTIONS: '--enable-source-maps',
          CIRRUS_TABLE: ref(stack.storage.table),
          CIRRUS_BUCKET: ref(stack.storage.bucket),
          CIRRUS_ORIGIN_SECRET_ARN: ref(stack.originSecret),
          CIRRUS_SIGNING_KEY_SECRET_ARN: ref(stack.signingKey!),
          CIRRUS_AUTH: 'on',
          CIRRUS_SIGNED_URL_SECONDS: '300',
          CIRRUS_SERVICE: 'registry',
        }),
      },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('is reached through a Function URL (auth NONE: locked by the origin secret instead)', () => {
    t.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE', InvokeMode: 'BUFFERED', TargetFunctionArn: arnOf(stack.registry.fn) });
  });

  it('its role: its own log group, item calls on the table, object calls on the bucket, two secrets — nothing else', () => {
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] },
      ManagedPolicyArns: Match.absent(),
    });
    const policy = t.findResources('AWS::IAM::Policy', { Properties: { Roles: [ref(stack.registry.role)] } });
    const statements = Object.values(policy)[0]!.Properties.PolicyDocument.Statement;
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: arnOf(stack.registry.logGroup) },
      { Effect: 'Allow', Action: TABLE_ACTIONS.readWrite, Resource: arnOf(stack.storage.table) },
      { Effect: 'Allow', Action: OBJECT_ACTIONS.readWrite, Resource: { 'Fn::Join': ['', [arnOf(stack.storage.bucket), '/*']] } },
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: arnOf(stack.storage.bucket) },
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: ref(stack.originSecret) },
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: ref(stack.signingKey!) },
    ]);
    expect(TABLE_ACTIONS.readWrite).not.toContain('dynamodb:Scan');
    expect(JSON.stringify(statements)).not.toMatch(/"Action":"\*"|:\*"/);
  });
});

describe('upload service', () => {
  it('Fargate on arm64 behind an internal load balancer reachable from the VPC only', () => {
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [
        Match.objectLike({
          PortMappings: [{ ContainerPort: 8080, Protocol: 'tcp' }],
          Environment: Match.arrayWith([
            { Name: 'CIRRUS_ORIGIN_SECRET_ARN', Value: ref(stack.originSecret) },
            { Name: 'CIRRUS_SERVICE', Value: 'upload-service' },
            { Name: 'CIRRUS_PUBLIC_URL', Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [stack.getLogicalId(stack.cdn.distribution.node.defaultChild as never), 'DomainName'] }]] } },
          ]),
        }),
      ],
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal', Type: 'application' });
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('load balancer'),
      SecurityGroupIngress: [{ CidrIp: UPLOAD_VPC_CIDR, FromPort: 80, ToPort: 80, IpProtocol: 'tcp', Description: Match.anyValue() }],
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { HealthCheckPath: '/healthz', Port: 8080 });
    t.hasResourceProperties('AWS::ECS::Service', { NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'ENABLED' }) } });
    t.resourceCountIs('AWS::EC2::NatGateway', 0);
    t.resourceCountIs('AWS::EC2::VPCEndpoint', 2);
    t.hasResourceProperties('AWS::EC2::FlowLog', { LogDestinationType: 's3' });
  });

  it('task role: the same least privilege as the function', () => {
    const policy = t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: stack.getLogicalId(stack.uploads!.taskRole.node.defaultChild as never) }] } });
    const actions = Object.values(policy)[0]!.Properties.PolicyDocument.Statement.flatMap((s: { Action: string | string[] }) => s.Action);
    expect(actions.sort()).toEqual([...TABLE_ACTIONS.readWrite, ...OBJECT_ACTIONS.readWrite, 's3:ListBucket', 'secretsmanager:GetSecretValue', 'secretsmanager:GetSecretValue'].sort());
  });
});

describe('distribution', () => {
  const config = () => Object.values(t.findResources('AWS::CloudFront::Distribution'))[0]!.Properties.DistributionConfig;

  it('both origins get the secret header from Secrets Manager (resolved at deploy time); the upload origin is a VPC origin', () => {
    const secret = { 'Fn::Join': ['', ['{{resolve:secretsmanager:', ref(stack.originSecret), ':SecretString:::}}']] };
    const origins = config().Origins as Array<{ OriginCustomHeaders: unknown[]; VpcOriginConfig?: unknown; CustomOriginConfig?: unknown }>;
    expect(origins).toHaveLength(2);
    for (const origin of origins) expect(origin.OriginCustomHeaders).toContainEqual({ HeaderName: ORIGIN_SECRET_HEADER, HeaderValue: secret });
    expect(origins.filter((o) => o.VpcOriginConfig)).toHaveLength(1);
    t.hasResourceProperties('AWS::CloudFront::VpcOrigin', { VpcOriginEndpointConfig: Match.objectLike({ OriginProtocolPolicy: 'http-only', HTTPPort: 80 }) });
    expect(origins.find((o) => o.CustomOriginConfig)!.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] });
  });

  it('behaviours in order: uploads → upload service; manifests by digest, tags, blob redirects, token, /v2 → Lambda', () => {
    const behaviours = config().CacheBehaviors as Array<{ PathPattern: string; TargetOriginId: string; ViewerProtocolPolicy: string; LambdaFunctionAssociations: unknown[] }>;
    expect(behaviours.map((b) => b.PathPattern)).toEqual([...PATHS.uploads, PATHS.manifestsByDigest, PATHS.manifests, PATHS.blobsByDigest, PATHS.token, PATHS.api]);
    const [uploadOrigin, lambdaOrigin] = [behaviours[0]!.TargetOriginId, behaviours[2]!.TargetOriginId];
    expect(uploadOrigin).not.toBe(lambdaOrigin);
    expect(behaviours.map((b) => b.TargetOriginId)).toEqual([uploadOrigin, uploadOrigin, ...Array(5).fill(lambdaOrigin)]);
    for (const b of [...behaviours, config().DefaultCacheBehavior]) {
      expect(b.ViewerProtocolPolicy).toBe('https-only');
      expect(b.LambdaFunctionAssociations).toEqual([{ EventType: 'viewer-request', LambdaFunctionARN: Match.anyValue() }].map(() => expect.objectContaining({ EventType: 'viewer-request' })));
    }
  });

  it('cache policies: digests for long, tags 5 s at most, blob redirects 60 s (under the 300 s signed URL), token never', () => {
    const policies = Object.values(t.findResources('AWS::CloudFront::CachePolicy')).map((r) => r.Properties.CachePolicyConfig);
    const byName = (part: string) => policies.find((p) => p.Comment.includes(part))!;
    expect(byName('ManifestsByDigest')).toMatchObject({ MinTTL: 0, DefaultTTL: 86_400, MaxTTL: 31_536_000 });
    expect(byName('ManifestsByDigest').ParametersInCacheKeyAndForwardedToOrigin.HeadersConfig).toEqual({ HeaderBehavior: 'whitelist', Headers: ['accept', 'x-cirrus-method'] });
    expect(byName('Tags')).toMatchObject({ MinTTL: 0, DefaultTTL: 5, MaxTTL: 5 });
    const blobs = byName('BlobRedirects');
    expect(blobs).toMatchObject({ MinTTL: 60, DefaultTTL: 60, MaxTTL: 60 });
    expect(blobs.MaxTTL).toBeLessThan(300 / 2);
    const token = byName('token endpoint');
    expect(token).toMatchObject({ MinTTL: 0, DefaultTTL: 0, MaxTTL: 1 });
    expect(token.ParametersInCacheKeyAndForwardedToOrigin.HeadersConfig).toEqual({ HeaderBehavior: 'whitelist', Headers: ['authorization'] });
    // Errors are never cached: a 404 before a push must not hide the push.
    expect(config().CustomErrorResponses).toContainEqual({ ErrorCode: 404, ErrorCachingMinTTL: 0 });
  });

  it('logs to the log bucket; HTTP/2 and 3; no custom domain unless given', () => {
    expect(config()).toMatchObject({ HttpVersion: 'http2and3', Logging: { Prefix: 'cloudfront/' }, PriceClass: 'PriceClass_100' });
    expect(config().Aliases).toBeUndefined();
  });
});

describe('viewer-request function (us-east-1 stack)', () => {
  it('x86_64 Node 22 Lambda@Edge, small and quick, no environment', () => {
    edge.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      MemorySize: 128,
      Timeout: 5,
      Architectures: ['x86_64'],
      Environment: Match.absent(),
    });
    edge.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'edgelambda.amazonaws.com' } })]) },
    });
    expect(edge.toJSON().Resources).toSatisfy((r: Record<string, { Type: string }>) => Object.values(r).some((x) => x.Type === 'AWS::Lambda::Version'));
  });
});

describe('garbage collection', () => {
  it('a Standard state machine, scheduled daily, over four task functions with only what each step touches', () => {
    // GC's and replication's.
    t.resourceCountIs('AWS::StepFunctions::StateMachine', 2);
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineType: 'STANDARD', TracingConfiguration: { Enabled: true } });
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 3 * * ? *)', State: 'ENABLED' });
    const actionsOf = (fn: { role: { node: { defaultChild?: unknown } } }) =>
      Object.values(t.findResources('AWS::IAM::Policy', { Properties: { Roles: [ref(fn.role)] } }))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>)
        .flatMap((st) => st.Action)
        .sort();
    const logs = ['logs:CreateLogStream', 'logs:PutLogEvents'];
    const gcStart = stack.node.findChild('GcStart') as never;
    const gcFinish = stack.node.findChild('GcFinish') as never;
    expect(actionsOf(gcStart)).toEqual([...logs, 'dynamodb:PutItem'].sort());
    expect(actionsOf(gcFinish)).toEqual(logs);
    for (const id of ['GcMark', 'GcSweep']) {
      expect(actionsOf(stack.node.findChild(id) as never)).toEqual([...logs, ...TABLE_ACTIONS.readWrite, 'dynamodb:Scan', ...OBJECT_ACTIONS.readWrite, 's3:ListBucket'].sort());
    }
    // Scan is GC's alone: the request path never scans.
    expect(actionsOf(stack.registry)).not.toContain('dynamodb:Scan');
  });
});

describe('replication', () => {
  it('a Standard state machine over three task functions: plan reads the table, copy and finish write it, copy alone touches the bucket', () => {
    const actionsOf = (fn: { role: { node: { defaultChild?: unknown } } }) =>
      Object.values(t.findResources('AWS::IAM::Policy', { Properties: { Roles: [ref(fn.role)] } }))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>)
        .flatMap((st) => st.Action)
        .sort();
    const logs = ['logs:CreateLogStream', 'logs:PutLogEvents'];
    expect(actionsOf(stack.node.findChild('ReplicationPlan') as never)).toEqual([...logs, ...TABLE_ACTIONS.read].sort());
    expect(actionsOf(stack.node.findChild('ReplicationCopy') as never)).toEqual([...logs, ...TABLE_ACTIONS.readWrite, ...OBJECT_ACTIONS.readWrite, 's3:ListBucket'].sort());
    expect(actionsOf(stack.node.findChild('ReplicationFinish') as never)).toEqual([...logs, ...TABLE_ACTIONS.readWrite].sort());
    t.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('^Cirrus replication: copies'), Timeout: 900, MemorySize: 1024 });
    expect(stack.replication.stateMachine).toBeDefined();
  });

  it('started on push by the table stream through a Pipe, every minute for schedules, hourly to reconcile', () => {
    t.hasResourceProperties('AWS::DynamoDB::Table', { StreamSpecification: { StreamViewType: 'NEW_IMAGE' } });
    t.hasResourceProperties('AWS::Pipes::Pipe', {
      SourceParameters: Match.objectLike({
        DynamoDBStreamParameters: Match.objectLike({ StartingPosition: 'LATEST', MaximumBatchingWindowInSeconds: 1 }),
        FilterCriteria: { Filters: [{ Pattern: Match.stringLikeRegexp('TAG#') }, { Pattern: Match.stringLikeRegexp('MANIFEST#') }] },
      }),
      TargetParameters: { StepFunctionStateMachineParameters: { InvocationType: 'FIRE_AND_FORGET' } },
    });
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)', Targets: [Match.objectLike({ InputTransformer: Match.objectLike({ InputTemplate: Match.stringLikeRegexp('"trigger":"schedule"') }) })] });
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)', Targets: [Match.objectLike({ Input: '{"rule":"*","trigger":"reconcile"}' })] });
  });
});

describe('observability', () => {
  it('alarms: storage at 85 % of the quota, 5xx rate, p99 latency, function and table throttling, upload service 5xx — all notifying the topic', () => {
    t.resourceCountIs('AWS::CloudWatch::Alarm', 6);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'BucketSizeBytes',
      Namespace: 'AWS/S3',
      Threshold: Math.floor(QUOTA_GIB * 1024 ** 3 * 0.85),
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: Match.arrayWith([{ Name: 'StorageType', Value: 'StandardStorage' }]),
      AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:ops'],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF(requests >= 20, 100 * (errors + crashes) / requests, 0)' })]),
      Threshold: 5,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Latency', Namespace: 'Cirrus', ExtendedStatistic: 'p99', Threshold: 3000 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Throttles', Namespace: 'AWS/Lambda', Threshold: 0 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmDescription: Match.stringLikeRegexp('DynamoDB throttled') });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmDescription: Match.stringLikeRegexp('upload service') });
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});
