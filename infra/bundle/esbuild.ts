/**
 * Bundling with the local esbuild (no Docker): the registry function, the upload service and the
 * viewer-request handler, as minified ESM for Node 22. Used at synth time (the edge bundle, whose
 * configuration is baked in, and the upload service's image directory) and by `npm run bundle`.
 * The registry Lambda is bundled here too, split (constructs/registry-function.ts).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync, type BuildOptions } from 'esbuild';
// Type only: infra names the edge's entry file and bakes its configuration; it runs none of it.
import type { EdgeConfig } from '../../edge/viewer-request/config.ts';
import { zip } from './zip.ts';

export type { EdgeConfig };

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const ENTRIES = {
  registry: 'functions/registry/index.ts',
  uploadService: 'functions/registry/upload-service.ts',
  edge: 'edge/viewer-request/index.ts',
} as const;

/** Bundled ESM still meets CommonJS dependencies that call `require` for Node built-ins. */
export const ESM_REQUIRE_BANNER = "import { createRequire as __cirrusRequire } from 'node:module'; const require = __cirrusRequire(import.meta.url);";

/** The global the edge reads its configuration from (edge/viewer-request/config.ts). */
export const EDGE_CONFIG_GLOBAL = '__CIRRUS_EDGE_CONFIG__';

export const NODE_TARGET = 'node22';

function nodeOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [join(PROJECT_ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    target: NODE_TARGET,
    format: 'esm',
    minify: true,
    legalComments: 'none',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    logLevel: 'error',
  };
}

export interface Bundle {
  dir: string;
  /** The files of the directory, as Lambda would zip them. */
  files: string[];
  /** Size of that zip, bytes. */
  zippedBytes: number;
}

/**
 * Registry function or upload service: `index.mjs` (+ source map, read with --enable-source-maps).
 * With `split`, code behind dynamic imports (the AWS SDK: core/storage/lazy.ts) goes to chunk
 * files beside it, so a cold start neither reads nor compiles it: V8 compiling the whole bundle
 * was most of the registry function's cold start.
 */
export function bundleNode(entry: string, dir: string = mkdtempSync(join(tmpdir(), 'cirrus-bundle-')), options: { split?: boolean } = {}): Bundle {
  mkdirSync(dir, { recursive: true });
  const base = nodeOptions(entry, join(dir, 'index.mjs'));
  if (options.split) {
    const { outfile: _, ...rest } = base;
    buildSync({ ...rest, outdir: dir, entryNames: 'index', chunkNames: 'chunk-[hash]', outExtension: { '.js': '.mjs' }, splitting: true, sourcemap: true, sourcesContent: false });
  } else {
    buildSync({ ...base, sourcemap: true, sourcesContent: false });
  }
  return describe(dir);
}

/**
 * The viewer-request handler with `config` baked in. No source map: Lambda@Edge counts every byte
 * against its 1 MB limit for viewer triggers, and the handler is small enough to read minified.
 */
export function bundleEdge(config: EdgeConfig, dir: string = mkdtempSync(join(tmpdir(), 'cirrus-edge-'))): Bundle {
  mkdirSync(dir, { recursive: true });
  buildSync({ ...nodeOptions(ENTRIES.edge, join(dir, 'index.mjs')), define: { [EDGE_CONFIG_GLOBAL]: JSON.stringify(config) } });
  return describe(dir);
}

/** The zip Lambda would get for `dir`, written to `path`. */
export function writeZip(bundle: Bundle, path: string): void {
  writeFileSync(path, zipOf(bundle.dir));
}

function describe(dir: string): Bundle {
  const files = readdirSync(dir).sort();
  return { dir, files, zippedBytes: zipOf(dir).length };
}

function zipOf(dir: string): Buffer {
  return zip(readdirSync(dir).sort().map((name) => ({ name, data: readFileSync(join(dir, name)) })));
}

export function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}
