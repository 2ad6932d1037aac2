/**
 * The upload service: the same registry app on Node, in ECS Fargate, for request bodies Lambda
 * cannot take. CloudFront reaches it through a VPC origin: the load balancer is internal, in
 * isolated subnets, and accepts traffic from inside the VPC only (where the only other tenants are
 * its own tasks); the origin secret header is checked by the app as on Lambda.
 *
 * Cost at idle is the point to watch: no NAT gateway (tasks sit in public subnets with a public
 * address for egress, and reach S3 and DynamoDB through free gateway endpoints), one small task.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { environmentFor, registryFunctionEnv } from '../../core/config/env.ts';
import { bundleNode, ENTRIES } from '../bundle/esbuild.ts';

export const UPLOAD_SERVICE_PORT = 8080;
/** A literal (not a token), so the balancer's ingress rule is checkable at synth. */
export const UPLOAD_VPC_CIDR = '10.42.0.0/16';

/** What the image runs: Debian's Node 22 from ECR Public and one bundled file (no RUN step, so any platform builds it). */
export const UPLOAD_SERVICE_DOCKERFILE = [
  'FROM public.ecr.aws/docker/library/node:22-bookworm-slim',
  'WORKDIR /app',
  'COPY index.mjs index.mjs.map ./',
  'ENV NODE_ENV=production NODE_OPTIONS=--enable-source-maps',
  'USER node',
  `EXPOSE ${UPLOAD_SERVICE_PORT}`,
  'CMD ["node", "index.mjs"]',
  '',
].join('\n');

export interface UploadServiceProps {
  logsBucket: s3.IBucket;
  environment: Record<string, string>;
  /** Tasks kept running (at least 1: an ECS service cannot wake up on a request). */
  minTasks?: number;
  maxTasks?: number;
  /** A directory with a Dockerfile and the bundle (tests): no bundling. */
  prebuilt?: string;
}

export class UploadService extends Construct {
  readonly vpc: ec2.Vpc;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly service: ecs.FargateService;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly taskRole: ecs.TaskDefinition['taskRole'];
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: UploadServiceProps) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(UPLOAD_VPC_CIDR),
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [
        { name: 'tasks', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'balancer', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
    });
    this.vpc.addFlowLog('FlowLogs', { destination: ec2.FlowLogDestination.toS3(props.logsBucket, 'vpc-flow-logs/') });

    const balancerSg = new ec2.SecurityGroup(this, 'BalancerSg', {
      vpc: this.vpc,
      description: 'Upload service load balancer: HTTP from inside the VPC only (CloudFront VPC origin)',
      allowAllOutbound: false,
    });
    balancerSg.addIngressRule(ec2.Peer.ipv4(UPLOAD_VPC_CIDR), ec2.Port.tcp(80), 'CloudFront VPC origin endpoints live in the VPC');
    const taskSg = new ec2.SecurityGroup(this, 'TaskSg', {
      vpc: this.vpc,
      description: 'Upload service tasks: only the load balancer may connect',
      allowAllOutbound: true,
    });
    taskSg.addIngressRule(balancerSg, ec2.Port.tcp(UPLOAD_SERVICE_PORT), 'from the load balancer');
    balancerSg.addEgressRule(taskSg, ec2.Port.tcp(UPLOAD_SERVICE_PORT), 'to the tasks');

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'Balancer', {
      vpc: this.vpc,
      internetFacing: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroup: balancerSg,
      dropInvalidHeaderFields: true,
      idleTimeout: Duration.seconds(120),
    });
    this.loadBalancer.logAccessLogs(props.logsBucket, 'upload-balancer');

    const cluster = new ecs.Cluster(this, 'Cluster', { vpc: this.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    const task = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: 1024,
      memoryLimitMiB: 2048,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    this.taskRole = task.taskRole;
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    task.addContainer('registry', {
      image: ecs.ContainerImage.fromAsset(props.prebuilt ?? imageDirectory(), { platform: Platform.LINUX_ARM64 }),
      environment: { ...props.environment, ...environmentFor(registryFunctionEnv, { PORT: String(UPLOAD_SERVICE_PORT), CIRRUS_SPOOL_DIR: '/tmp' }) },
      portMappings: [{ containerPort: UPLOAD_SERVICE_PORT }],
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'upload', logGroup: this.logGroup }),
      stopTimeout: Duration.seconds(120),
    });

    this.service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition: task,
      desiredCount: props.minTasks ?? 1,
      assignPublicIp: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroups: [taskSg],
      circuitBreaker: { rollback: true },
      minHealthyPercent: 100,
    });
    const scaling = this.service.autoScaleTaskCount({ minCapacity: props.minTasks ?? 1, maxCapacity: props.maxTasks ?? 4 });
    scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });

    const listener = this.loadBalancer.addListener('Http', { port: 80, protocol: elbv2.ApplicationProtocol.HTTP, open: false });
    this.targetGroup = listener.addTargets('Tasks', {
      port: UPLOAD_SERVICE_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.service],
      healthCheck: { path: '/healthz', healthyHttpCodes: '200', interval: Duration.seconds(30) },
      deregistrationDelay: Duration.seconds(60),
    });

    Validations.of(task).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The environment holds names and ARNs only (table, bucket, secret ARNs); secret values are read from Secrets Manager at run time.',
    });
    Validations.of(task).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'The execution role pulls the image: ecr:GetAuthorizationToken has no resource-level permission, so it is granted on * (CDK adds it; the repository actions are scoped to the asset repository).',
    });
  }
}

/** A build context: Dockerfile + the bundled upload service. */
function imageDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cirrus-upload-image-'));
  bundleNode(ENTRIES.uploadService, dir);
  writeFileSync(join(dir, 'Dockerfile'), UPLOAD_SERVICE_DOCKERFILE);
  return dir;
}
