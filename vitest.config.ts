import { defineConfig } from 'vitest/config';

/**
 * One run, two projects named after the store under test (CIRRUS_TEST_BACKEND, see
 * test/support/backend.ts): everything on the embedded store, and the whole-registry parity
 * subset again on the AWS adapters over dynalite and s3rver.
 */
const awsLocalParity = [
  'test/http/**/*.test.ts',
  'test/conformance/**/*.test.ts',
  'test/uploads/**/*.test.ts',
  'test/lambda/**/*.test.ts',
  'test/clients/{skopeo,docker,podman,containerd}.test.ts',
];

// Two cores: at most two test files at once, whichever project; real-client files start their own servers.
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'embedded', include: ['test/**/*.test.ts'], env: { CIRRUS_TEST_BACKEND: 'embedded' } } },
      { extends: true, test: { name: 'aws-local', include: awsLocalParity, env: { CIRRUS_TEST_BACKEND: 'aws-local' } } },
    ],
  },
});
