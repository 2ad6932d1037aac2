/**
 * `npm start`'s prestart (`node bin/build-local-host.ts`, run by Node's own type stripping, so
 * this file uses erasable syntax only): bundles the local host into dist/local-host/ in under a
 * second, and `npm start` runs that on plain Node. Against the tsx loader (the tsx CLI even ran a
 * second Node process) this halves start time and cuts idle RSS by about 50 MB (README,
 * Benchmarks). Tests and benchmarks start the same bundle (test/support/local-host.ts).
 *
 * - Dependencies are bundled too: one parsed file costs less memory than hundreds of modules.
 * - Code the embedded default never runs (the AWS adapters and SDK; hash-wasm) is behind dynamic
 *   imports, which esbuild splits into chunks loaded on first use.
 * - Whitespace and syntax are minified, names are not: stack traces stay readable with no
 *   source map (--enable-source-maps would keep the map in memory).
 * - Files are built aside and renamed into place, so a host starting meanwhile (tests run two
 *   workers) never reads a half-written file; chunk names carry a content hash.
 */
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = join(ROOT, 'dist', 'local-host');
export const LOCAL_HOST_BUNDLE = join(OUT_DIR, 'local-host.mjs');

/**
 * How the local host runs (package.json's start script says the same). Each measured with a
 * streamed 1 GiB push, three in a row, under load:
 * - --max-semi-space-size=2 (MiB; V8 grows it to 16 by default): a push makes short-lived objects
 *   per 64 KiB socket chunk, whose backing stores are freed only when the young generation is
 *   collected; a small one is collected often. Peak of the first push: 108 MB → 93 MB.
 * - --expose-gc: the local host runs one full GC after each request body over 64 MiB
 *   (local-host.ts), for what was promoted meanwhile;
 * - MALLOC_MMAP_THRESHOLD_ fixed at 128 KiB: glibc otherwise raises it to the largest block freed
 *   (1 MiB write buffers), then serves those from heap arenas it rarely returns to the system.
 *   With both, the three pushes peak at 93, 93, 93 MB; without, 93, 102, 110 MB.
 */
export const LOCAL_HOST_NODE_FLAGS = ['--disable-warning=ExperimentalWarning', '--max-semi-space-size=2', '--expose-gc'];
export const LOCAL_HOST_ENV = { MALLOC_MMAP_THRESHOLD_: '131072' };

export function buildLocalHost(): string {
  const staging = `${OUT_DIR}.${process.pid}-${Date.now()}`;
  try {
    buildSync({
      absWorkingDir: ROOT,
      entryPoints: { 'local-host': 'bin/local-host.ts' },
      outdir: staging,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node22',
      // ESM builds of dependencies where they ship one (hash-wasm's `main` is UMD), as infra/bundle does.
      mainFields: ['module', 'main'],
      minifyWhitespace: true,
      minifySyntax: true,
      // Bundled CommonJS dependencies call `require` for Node built-ins.
      banner: { js: "import { createRequire as __cirrusRequire } from 'node:module'; const require = __cirrusRequire(import.meta.url);" },
      logLevel: 'error',
    });
    mkdirSync(OUT_DIR, { recursive: true });
    // Chunks first, the entry last: whoever loads the new entry finds every chunk it names.
    const files = readdirSync(staging).sort((a, b) => Number(a === 'local-host.mjs') - Number(b === 'local-host.mjs'));
    for (const file of files) renameSync(join(staging, file), join(OUT_DIR, file));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return LOCAL_HOST_BUNDLE;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildLocalHost();
