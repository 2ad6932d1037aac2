/**
 * vitest globalSetup of the `aws-rgw` project: ONE Ceph RGW cluster (bin/ceph-rgw.ts) and ONE
 * dynalite for the whole run, started before the first worker and stopped by their PIDs after
 * the last file. Every test file keeps apart by table and bucket names of its own. One cluster
 * per run, not per worker: it takes ~2 s and ~130 MiB, and isolated workers are one process per
 * test file, so a cluster per worker would boot some thirty times. The endpoints reach the
 * workers through `provide` (read with `awsServers()` in aws-servers.ts).
 *
 * RGW's part minimum is lowered to 1 KiB, the smallest `minPartSize` a test store sets (the S3
 * adapter checks its own minimum before completing, so the contract still sees part-too-small).
 * Its start time and memory are printed, for the test log.
 */
import type { TestProject } from 'vitest/node';
import { startLocalAwsServer, type LocalServer } from '../../bin/aws-local-servers.ts';
import { startRgwCluster, type RgwCluster } from '../../bin/ceph-rgw.ts';
import { makeTempDir, removeTree } from './tmp.ts';

export interface AwsServers {
  s3Endpoint: string;
  dynamodbEndpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    awsServers: AwsServers;
  }
}

const MiB = 1024 * 1024;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dynamoDir = await makeTempDir('dynalite');
  let rgw: RgwCluster | undefined;
  let dynamo: LocalServer | undefined;
  const stop = async () => {
    await Promise.allSettled([rgw?.stop(), dynamo?.stop()]);
    await removeTree(dynamoDir);
  };
  const [rgwStarted, dynamoStarted] = await Promise.allSettled([
    startRgwCluster({ minPartSize: 1024 }),
    startLocalAwsServer('dynalite', dynamoDir, { removeOnOrphan: true }),
  ]);
  if (rgwStarted.status === 'fulfilled') rgw = rgwStarted.value;
  if (dynamoStarted.status === 'fulfilled') dynamo = dynamoStarted.value;
  if (!rgw || !dynamo) {
    await stop();
    throw rgwStarted.status === 'rejected' ? rgwStarted.reason : (dynamoStarted as PromiseRejectedResult).reason;
  }
  const cluster = rgw;
  console.log(
    `[aws-rgw] Ceph RGW ready in ${(cluster.startMs / 1000).toFixed(1)} s at ${cluster.endpoint} ` +
      `(mon, osd, radosgw: pids ${cluster.pids.join(', ')}; RSS ${Math.round((await cluster.rss()) / MiB)} MiB); dynalite at ${dynamo.endpoint}`,
  );
  project.provide('awsServers', {
    s3Endpoint: cluster.endpoint,
    dynamodbEndpoint: dynamo.endpoint,
    region: cluster.region,
    ...cluster.credentials,
  });
  return async () => {
    console.log(`[aws-rgw] Ceph RGW RSS at the end of the run: ${Math.round((await cluster.rss()) / MiB)} MiB; stopping pids ${cluster.pids.join(', ')}`);
    await stop();
  };
}
