// Synth helpers for the infra tests: the app over stub code (no bundling: fast), a fixed key pair.
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../../infra/app.ts';
import type { RegistryStack } from '../../infra/registry-stack.ts';

/** Directories that stand for built code: the registry function, the edge bundle, the upload image. */
export function stubBuild(): { registry: string; edge: string; uploadService: string } {
  const root = mkdtempSync(join(tmpdir(), 'cirrus-infra-stub-'));
  const dirs = { registry: join(root, 'registry'), edge: join(root, 'edge'), uploadService: join(root, 'upload') };
  for (const dir of Object.values(dirs)) mkdirSync(dir);
  writeFileSync(join(dirs.registry, 'index.mjs'), 'export const handler = async () => ({ statusCode: 503, body: "stub" });\n');
  writeFileSync(join(dirs.edge, 'index.mjs'), 'export const handler = async (event) => event.Records[0].cf.request;\n');
  writeFileSync(join(dirs.uploadService, 'Dockerfile'), 'FROM scratch\n');
  return dirs;
}

export const PUBLIC_JWK = JSON.stringify(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }));

/** The app as `cdk synth -c …` builds it, over stub code; nag registered as in infra/app.ts. */
export function synthApp(context: Record<string, string> = {}): { app: App; stacks: Record<string, RegistryStack> } {
  const app = new App({ context: { regions: 'eu-west-1', signingPublicKey: PUBLIC_JWK, account: '123456789012', ...context } });
  buildApp(app, { prebuilt: stubBuild() });
  const stacks: Record<string, RegistryStack> = {};
  for (const child of app.node.children) if ((child as RegistryStack).cdn) stacks[child.node.id] = child as RegistryStack;
  return { app, stacks };
}
