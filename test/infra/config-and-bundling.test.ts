/**
 * Context parsing, and the one place code is really bundled at synth: the local esbuild for the
 * registry function (no Docker), and the edge bundle with its config baked.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { bundleEdge, ENTRIES } from '../../infra/bundle/esbuild.ts';
import { zip } from '../../infra/bundle/zip.ts';
import { readDeployConfig } from '../../infra/config.ts';
import { RegistryFunction } from '../../infra/constructs/registry-function.ts';
import { EDGE_VIEWER_ZIP_LIMIT } from '../../infra/constructs/viewer-request.ts';

const config = (context: Record<string, string>) => readDeployConfig(new App({ context }).node, {});

describe('context', () => {
  it('regions: a comma-separated list; defaults to eu-west-1; rejects nonsense and repeats', () => {
    expect(config({}).regions).toEqual(['eu-west-1']);
    expect(config({ regions: 'eu-west-1, us-east-1' }).regions).toEqual(['eu-west-1', 'us-east-1']);
    expect(() => config({ regions: 'mars-1' })).toThrow(/not a region/);
    expect(() => config({ regions: 'eu-west-1,eu-west-1' })).toThrow(/twice/);
  });

  it('signing key: a JWK, a JWK set (rotation) or PEM, from a value or a file; a private JWK is refused; none → throwaway', () => {
    const pair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const a = pair();
    const b = pair();
    const jwk = (k: typeof a) => JSON.stringify(k.publicKey.export({ format: 'jwk' }));
    const one = config({ signingPublicKey: jwk(a) }).auth;
    expect(one && one.publicKeys).toHaveLength(1);
    expect(one && one.throwaway).toBe(false);
    const file = join(mkdtempSync(join(tmpdir(), 'cirrus-keys-')), 'keys.json');
    writeFileSync(file, JSON.stringify({ keys: [a.publicKey.export({ format: 'jwk' }), b.publicKey.export({ format: 'jwk' })] }));
    const set = config({ signingPublicKeyFile: file }).auth;
    expect(set && set.publicKeys).toHaveLength(2);
    const pem = config({ signingPublicKey: a.publicKey.export({ format: 'pem', type: 'spki' }).toString() }).auth;
    expect(pem && pem.publicKeys[0]).toMatch(/BEGIN PUBLIC KEY/);
    expect(() => config({ signingPublicKey: JSON.stringify(a.privateKey.export({ format: 'jwk' })) })).toThrow(/PRIVATE/);
    const none = config({}).auth;
    expect(none && none.throwaway).toBe(true);
    expect(config({ auth: 'off' }).auth).toBe(false);
  });

  it('custom domain: {region} expands; needs a us-east-1 certificate', () => {
    const c = config({ domainName: '{region}.registry.example.com', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc' });
    expect(c.domain?.('eu-west-1')).toEqual({ name: 'eu-west-1.registry.example.com', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc' });
    expect(() => config({ domainName: 'r.example.com', certificateArn: 'arn:aws:acm:eu-west-1:1:certificate/x' })).toThrow(/us-east-1/);
    expect(() => config({ domainName: 'r.example.com' })).toThrow(/together/);
  });

  it('cache lifetimes and quota', () => {
    const c = config({ storageQuotaGiB: '10', tagCacheSeconds: '0', uploadService: 'off' });
    expect(c.storageQuotaBytes).toBe(10 * 1024 ** 3);
    expect(c.cache).toEqual({ tagSeconds: 0, blobRedirectSeconds: 60, signedUrlSeconds: 300 });
    expect(c.uploadService).toBe(false);
    expect(() => config({ storageQuotaGiB: 'lots' })).toThrow(/integer/);
  });
});

describe('bundling', () => {
  it('RegistryFunction bundles the registry with the local esbuild: ESM, minified, split, source maps, under 1 MiB zipped', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': ['*'] } });
    const stack = new Stack(app, 'Bundle', { env: { region: 'eu-west-1', account: '123456789012' } });
    const fn = new RegistryFunction(stack, 'Registry', { entry: ENTRIES.registry });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
    const assembly = app.synth();
    const assetDir = readdirSync(assembly.directory).find((d) => d.startsWith('asset.') && readdirSync(join(assembly.directory, d)).includes('index.mjs'))!;
    const files = readdirSync(join(assembly.directory, assetDir)).sort();
    expect(files).toContain('index.mjs');
    expect(files).toContain('index.mjs.map');
    // The AWS SDK in chunks loaded on first use, each with its map.
    const chunks = files.filter((f) => /^chunk-\w+\.mjs$/.test(f));
    expect(chunks.length).toBeGreaterThan(0);
    expect(files.length).toBe(2 * (chunks.length + 1));
    const code = readFileSync(join(assembly.directory, assetDir, 'index.mjs'), 'utf8');
    expect(code).toMatch(/createRequire/); // the ESM banner
    expect(code).toMatch(/export\s*\{/);
    expect(code.length / code.split('\n').length).toBeGreaterThan(2000); // minified: long lines
    const zipped = zip(files.map((name) => ({ name, data: readFileSync(join(assembly.directory, assetDir, name)) })));
    expect(zipped.length).toBeLessThan(1024 * 1024);
    expect(fn.fn.runtime.name).toBe('nodejs22.x');
  }, 120_000);

  it('bakes the edge configuration into a bundle far under the 1 MiB Lambda@Edge limit', () => {
    const bundle = bundleEdge({ auth: false, bodyLimit: 'all', scheme: 'https', publicUrl: 'https://baked.example' });
    expect(bundle.files).toEqual(['index.mjs']);
    expect(bundle.zippedBytes).toBeLessThan(EDGE_VIEWER_ZIP_LIMIT / 4);
    expect(readFileSync(join(bundle.dir, 'index.mjs'), 'utf8')).toContain('https://baked.example');
  });
});
