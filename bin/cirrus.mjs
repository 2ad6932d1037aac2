#!/usr/bin/env node
// `cirrus`: runs bin/cirrus.ts through tsx on the project's Node (the `node` devDependency, which
// node:sqlite needs), whatever Node started this shim; arguments, stdio and exit code pass through.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const pinned = join(dirname(require.resolve('node/package.json')), 'bin', 'node');
const node = existsSync(pinned) ? pinned : process.execPath;
const tsx = pathToFileURL(require.resolve('tsx')).href;
const entry = fileURLToPath(new URL('./cirrus.ts', import.meta.url));
const result = spawnSync(node, ['--disable-warning=ExperimentalWarning', '--import', tsx, entry, ...process.argv.slice(2)], { stdio: 'inherit' });
if (result.error) {
  console.error(`cirrus: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
