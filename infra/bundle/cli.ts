/**
 * `npm run bundle`: builds the registry function, the upload service and the viewer-request
 * handler into dist/ (a directory and a zip each) and prints each zipped size against its limit,
 * then the registry function's cold start (cold-start.ts). The edge is baked with a throwaway key
 * here: deployments bake their own at synth.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { measureColdStart } from './cold-start.ts';
import { bundleEdge, bundleNode, ENTRIES, formatBytes, PROJECT_ROOT, writeZip, type Bundle } from './esbuild.ts';

const MB = 1024 * 1024;
const out = join(PROJECT_ROOT, 'dist');
// dist/local-host (npm start's bundle) is not ours to remove.
for (const name of ['registry', 'upload-service', 'edge-viewer-request']) {
  rmSync(join(out, name), { recursive: true, force: true });
  rmSync(join(out, `${name}.zip`), { force: true });
}
mkdirSync(out, { recursive: true });

const publicJwk = JSON.stringify(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }));
const bundles: Array<[string, Bundle, number]> = [
  ['registry', bundleNode(ENTRIES.registry, join(out, 'registry'), { split: true }), MB],
  ['upload-service', bundleNode(ENTRIES.uploadService, join(out, 'upload-service')), Infinity],
  [
    'edge-viewer-request',
    bundleEdge({ auth: { service: 'cirrus', issuer: 'cirrus', publicKeys: [publicJwk] }, bodyLimit: 'except-uploads', scheme: 'https' }, join(out, 'edge-viewer-request')),
    MB,
  ],
];
let failed = false;
for (const [name, bundle, limit] of bundles) {
  writeZip(bundle, join(out, `${name}.zip`));
  const over = bundle.zippedBytes > limit;
  failed ||= over;
  const budget = limit === Infinity ? '' : ` (limit ${formatBytes(limit)}${over ? ', OVER' : ''})`;
  console.log(`${name.padEnd(20)} ${formatBytes(bundle.zippedBytes).padStart(10)} zipped${budget}  dist/${name}.zip`);
}
const cold = measureColdStart(join(out, 'registry'));
console.log(
  `registry cold start   ${cold.ms.toFixed(0)} ms to the first answer (GET /v2/ → ${cold.status}; CPU ${cold.cpuMs.toFixed(0)} ms), RSS ${(cold.rssBytes / MB).toFixed(0)} MiB` +
    ` (fresh Node ${process.version} process with --enable-source-maps, median of 5; origin lock and auth off)`,
);
if (failed) process.exit(1);
