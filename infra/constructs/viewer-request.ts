/**
 * The viewer-request handler as a Lambda@Edge function: bundled here with esbuild, its
 * configuration (public keys, service, limits) baked in since Lambda@Edge has no environment
 * variables; x86_64, the only architecture Lambda@Edge runs; created in us-east-1 whatever the
 * stack's region (EdgeFunction adds a small stack there when needed).
 */
import { Annotations, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { bundleEdge, formatBytes, type EdgeConfig } from '../bundle/esbuild.ts';
import { NODE_22_REASON, REGISTRY_RUNTIME } from './registry-function.ts';

/** Lambda@Edge's limit for viewer triggers (zipped). */
export const EDGE_VIEWER_ZIP_LIMIT = 1024 * 1024;

export interface ViewerRequestFunctionProps {
  config: EdgeConfig;
  /** A directory that already holds `index.mjs` (tests): no bundling, no baking. */
  prebuilt?: string;
  /** Name of the us-east-1 stack EdgeFunction creates for a stack in another region. */
  edgeStackId?: string;
}

export class ViewerRequestFunction extends Construct {
  readonly edgeFunction: cloudfront.experimental.EdgeFunction;

  constructor(scope: Construct, id: string, props: ViewerRequestFunctionProps) {
    super(scope, id);
    let dir = props.prebuilt;
    if (!dir) {
      const bundle = bundleEdge(props.config);
      if (bundle.zippedBytes > EDGE_VIEWER_ZIP_LIMIT) {
        throw new Error(`the viewer-request bundle is ${formatBytes(bundle.zippedBytes)} zipped; Lambda@Edge takes at most 1 MiB`);
      }
      Annotations.of(this).addInfo(`viewer-request bundle: ${formatBytes(bundle.zippedBytes)} zipped`);
      dir = bundle.dir;
    }
    this.edgeFunction = new cloudfront.experimental.EdgeFunction(this, 'Function', {
      description: `Cirrus viewer-request (${Stack.of(this).region}): tokens, body limits, cache key`,
      runtime: REGISTRY_RUNTIME,
      architecture: lambda.Architecture.X86_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(dir),
      memorySize: 128,
      timeout: Duration.seconds(5),
      stackId: props.edgeStackId,
    });
    // The function itself may live in the us-east-1 stack EdgeFunction adds: acknowledge there.
    Validations.of(this.edgeFunction.lambda).acknowledge(
      { id: 'AwsSolutions-L1', reason: NODE_22_REASON },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'Lambda@Edge writes its logs to /aws/lambda/us-east-1.<name> in whichever region served the request, so no single log group ARN can be named; the AWS managed basic execution policy (logs only) is the documented minimum.',
      },
    );
  }
}
