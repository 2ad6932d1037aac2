/**
 * RegistryFunction: how every Lambda function of the registry is built. Node 22 on arm64, an ESM
 * bundle made with the local esbuild (never Docker; infra/bundle), minified, split, with source maps
 * read at run time, and a log group of its own with a retention. Its role may write to that log
 * group only (not AWSLambdaBasicExecutionRole, which allows every group of the account); all other
 * permissions come from the bind helpers (bind.ts).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { bundleNode } from '../bundle/esbuild.ts';

export interface RegistryFunctionProps {
  /** Entry file, relative to the project root. */
  entry: string;
  description?: string;
  environment?: Record<string, string>;
  memorySize?: number;
  timeout?: Duration;
  logRetention?: logs.RetentionDays;
  /** A directory that already holds `index.mjs` (tests, or a build made elsewhere): no bundling. */
  prebuilt?: string;
}

export const REGISTRY_RUNTIME = lambda.Runtime.NODEJS_22_X;

export const NODE_22_REASON =
  'Node 22 on purpose: the project pins Node 22 (the node devDependency), so the runtime that runs the tests locally and in CI is the one Lambda runs; moving to a newer major is a deliberate upgrade of all of them.';

export class RegistryFunction extends Construct {
  readonly fn: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RegistryFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description ?? id}: its own log group, then what the bind helpers grant`,
    });
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.logGroup.logGroupArn] }));

    const common = {
      description: props.description,
      runtime: REGISTRY_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(60),
      role: this.role,
      logGroup: this.logGroup,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
    } satisfies Partial<lambda.FunctionProps>;

    // Bundled here rather than by NodejsFunction, which writes one file: split, the AWS SDK sits in
    // chunks a cold start does not read until a request needs it (infra/bundle/esbuild.ts).
    const code = props.prebuilt ?? bundleNode(props.entry, mkdtempSync(join(tmpdir(), 'cirrus-function-')), { split: true }).dir;
    this.fn = new lambda.Function(this, 'Function', { ...common, handler: 'index.handler', code: lambda.Code.fromAsset(code) });
    Validations.of(this.fn).acknowledge({ id: 'AwsSolutions-L1', reason: NODE_22_REASON });
  }
}
