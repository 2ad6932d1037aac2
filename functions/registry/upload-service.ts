/**
 * Entry of the upload service: the registry app on Node in ECS Fargate, behind an internal load
 * balancer that only CloudFront reaches (a VPC origin). CloudFront sends it the blob-upload routes,
 * whose bodies Lambda cannot take (over 6 MB, or streamed without a length).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { emfSink, jsonLogger } from '../../core/http/index.ts';
import { answerClientErrors } from '../../core/http/node-client-errors.ts';
import { createAwsRuntime } from './aws-deps.ts';
import { readFunctionConfig } from './config.ts';
import { createNodeHost } from './node-host.ts';

const config = readFunctionConfig();
const log = jsonLogger();
const runtime = createAwsRuntime(config, log, emfSink({ namespace: config.metricsNamespace, service: config.service }));
// Host is checked by the app's adapter, which answers with an OCI error (Node's own check: a bare 400).
const server = createServer({ requireHostHeader: false }, createNodeHost(runtime));
answerClientErrors(server, log);
server.headersTimeout = 30_000;
// Upload bodies may take long; the load balancer's idle timeout (60 s) must end before ours.
server.requestTimeout = 0;
server.keepAliveTimeout = 65_000;
server.listen(config.port, '0.0.0.0', () => log.info('listening', { port: (server.address() as AddressInfo).port, service: config.service }));

process.on('SIGTERM', () => {
  // ECS sends SIGTERM, then SIGKILL after the stop timeout: finish what is in flight.
  log.info('stopping', { signal: 'SIGTERM' });
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
