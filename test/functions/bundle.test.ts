/**
 * The registry function as `npm run bundle` and NodejsFunction build it: one ESM file that loads
 * on Node 22 and answers a Function URL event.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundleNode, ENTRIES } from '../../infra/bundle/esbuild.ts';
import type { FunctionUrlResult } from '../../functions/registry/lambda-host.ts';
import { functionUrlEvent } from './support.ts';

describe('registry bundle', () => {
  it('loads and serves GET /v2/ (under 1 MiB zipped), the AWS SDK left in chunks it does not load', async () => {
    const bundle = bundleNode(ENTRIES.registry, undefined, { split: true });
    expect(bundle.files).toContain('index.mjs');
    expect(bundle.files).toContain('index.mjs.map');
    // The SDK alone is over 600 KB minified; what a cold start compiles is far less.
    expect(readFileSync(join(bundle.dir, 'index.mjs')).byteLength).toBeLessThan(300 * 1024);
    expect(bundle.zippedBytes).toBeLessThan(1024 * 1024);
    const saved = { ...process.env };
    Object.assign(process.env, {
      CIRRUS_TABLE: 'cirrus-test',
      CIRRUS_BUCKET: 'cirrus-test',
      CIRRUS_ORIGIN_LOCK: 'off',
      CIRRUS_AUTH: 'off',
      AWS_REGION: 'eu-west-1',
      CIRRUS_SERVICE: 'bundle-test',
    });
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
    try {
      const { handler } = (await import(pathToFileURL(join(bundle.dir, 'index.mjs')).href)) as { handler: (e: unknown) => Promise<FunctionUrlResult> };
      const r = await handler(functionUrlEvent('GET', '/v2/', { direct: true }));
      expect(r.statusCode).toBe(200);
      expect(r.headers?.['docker-distribution-api-version']).toBe('registry/2.0');
    } finally {
      process.stdout.write = write;
      process.env = saved;
    }
    expect(lines.some((l) => l.includes('"_aws"') && l.includes('"Service":"bundle-test"'))).toBe(true);
  });
});
