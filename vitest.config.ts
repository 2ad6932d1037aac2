import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { missingCephBinaries, missingCephMessage } from './bin/ceph-rgw.ts';

/**
 * One run, two projects named after the store under test (CIRRUS_TEST_BACKEND, see
 * test/support/backend.ts): everything on the embedded store, and the AWS subset again on the AWS
 * adapters over dynalite and Ceph's RADOS Gateway (one of each for the run, started by the
 * project's globalSetup and stopped by their PIDs at the end; the S3 contract runs there only).
 */
const awsRgw = [
  'test/contracts/s3-object-store.test.ts',
  'test/http/**/*.test.ts',
  'test/conformance/**/*.test.ts',
  'test/uploads/**/*.test.ts',
  'test/lambda/**/*.test.ts',
  'test/crash/**/*.test.ts',
  'test/gc/{collect,race,retention}.test.ts',
  'test/replication/region.test.ts',
  'test/clients/*.test.ts',
];
// The quick start runs the README as written: the embedded store on port 5000, once per run.
const awsRgwExclude = ['test/clients/quickstart.test.ts'];

// Without Ceph the aws-rgw project cannot run: under CI that fails the run, elsewhere it is left
// out with a message naming the packages.
const missingCeph = missingCephBinaries();
if (missingCeph.length > 0) {
  const message = missingCephMessage(missingCeph);
  if (process.env.CI) throw new Error(`the aws-rgw project needs Ceph: ${message} (required under CI)`);
  console.warn(`skipping the aws-rgw project: ${message}`);
}
const awsRgwProject: TestProjectInlineConfiguration = {
  extends: true,
  test: { name: 'aws-rgw', include: awsRgw, exclude: awsRgwExclude, globalSetup: ['test/support/aws-rgw-setup.ts'], env: { CIRRUS_TEST_BACKEND: 'aws-rgw' } },
};

// Two cores: at most two test files at once, whichever project; real-client files start their own servers.
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'embedded', include: ['test/**/*.test.ts'], exclude: ['test/contracts/s3-object-store.test.ts', 'test/replication/region.test.ts'], env: { CIRRUS_TEST_BACKEND: 'embedded' } },
      },
      ...(missingCeph.length > 0 ? [] : [awsRgwProject]),
    ],
  },
});
