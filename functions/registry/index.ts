/**
 * Lambda entry of the registry (behind a Function URL that only CloudFront may call): config read
 * once at cold start, deps over DynamoDB, S3 and Secrets Manager, metrics as EMF log lines.
 */
import { emfSink, jsonLogger } from '../../core/http/index.ts';
import { createAwsRuntime } from './aws-deps.ts';
import { readFunctionConfig } from './config.ts';
import { createLambdaHost } from './lambda-host.ts';

const config = readFunctionConfig();
const log = jsonLogger();
const metrics = emfSink({ namespace: config.metricsNamespace, service: config.service });

export const handler = createLambdaHost(createAwsRuntime(config, log, metrics));
