/**
 * dynalite (DynamoDB on LevelDB) and s3rver (S3 on files) as child processes on 127.0.0.1,
 * each on a free port over a directory of its own: the `aws-local` backend of the local host,
 * and the tests of the AWS adapters. A child exits when its parent's pipe to its stdin closes
 * (the parent died, even by SIGKILL); with `removeOnOrphan` it deletes its directory first.
 * With `keepPort` a server takes the port of the last one over its directory again when that
 * port is free (it is kept in `<dir>.port`): S3 URLs presigned before a restart stay valid, as
 * they do on AWS, whose endpoints never move.
 *
 * s3rver runs with --openssl-legacy-provider: it encrypts its ListObjectsV2 continuation tokens
 * with DES, which Node 22's OpenSSL 3 refuses otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { ObjectStore } from '../core/ports/index.ts';

const require = createRequire(import.meta.url);

export interface LocalServer {
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

export type LocalServerKind = 'dynalite' | 's3rver';

export async function startLocalAwsServer(
  kind: LocalServerKind,
  dir: string,
  options: { removeOnOrphan?: boolean; keepPort?: boolean } = {},
): Promise<LocalServer> {
  const start = (port: number) => {
    const config = { module: require.resolve(kind), path: dir, port, removeOnOrphan: options.removeOnOrphan ?? false };
    const nodeArgs = kind === 's3rver' ? ['--openssl-legacy-provider'] : [];
    return startChild(kind, nodeArgs, kind === 'dynalite' ? DYNALITE_MAIN : S3RVER_MAIN, config);
  };
  if (!options.keepPort) return start(0);
  const portFile = `${dir}.port`;
  const last = Number(await readFile(portFile, 'utf8').catch(() => '0'));
  // The last port may have been taken meanwhile: then any free one (older URLs stop working).
  const server = (last > 0 ? await start(last).catch(() => undefined) : undefined) ?? (await start(0));
  await mkdir(dirname(portFile), { recursive: true });
  await writeFile(portFile, new URL(server.endpoint).port);
  return server;
}

const WATCH_PARENT = `
const orphaned = () => { try { if (removeOnOrphan) require('node:fs').rmSync(path, { recursive: true, force: true }); } finally { process.exit(0); } };
process.stdin.on('data', () => {}); process.stdin.on('end', orphaned); process.stdin.on('error', orphaned);`;

const DYNALITE_MAIN = `
const { module: main, path, port, removeOnOrphan } = JSON.parse(process.env.CIRRUS_LOCAL_SERVER);
const server = require(main)({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(port, '127.0.0.1', () => console.log('LISTENING ' + server.address().port));
${WATCH_PARENT}
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

const S3RVER_MAIN = `
const { module: main, path, port, removeOnOrphan } = JSON.parse(process.env.CIRRUS_LOCAL_SERVER);
const S3rver = require(main);
const server = new S3rver({ address: '127.0.0.1', port, directory: path, silent: true });
server.run().then(({ port }) => console.log('LISTENING ' + port), (error) => { console.error(error); process.exit(1); });
${WATCH_PARENT}
process.on('SIGTERM', () => server.close().then(() => process.exit(0), () => process.exit(0)));
`;

async function startChild(name: string, nodeArgs: string[], script: string, config: object): Promise<LocalServer> {
  const child = spawn(process.execPath, [...nodeArgs, '-e', script], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', CIRRUS_LOCAL_SERVER: JSON.stringify(config) },
  });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start within 20 s:\n${output}`)), 20_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const match = /LISTENING (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`${name} exited (${code ?? signal}) before listening:\n${output}`)));
  });
  // Keep draining the pipes so a chatty server never blocks on a full buffer.
  child.stdout.resume();
  child.stderr.resume();
  return { endpoint: `http://127.0.0.1:${port}`, pid: child.pid as number, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/**
 * s3rver has no AbortMultipartUpload (it answers 405). Locally an unaborted upload is only
 * disk garbage, so cancelling a session must not fail on it; real S3 takes the abort.
 */
export function withoutAbortOnS3rver<T extends ObjectStore>(store: T): T {
  const abort = store.abortMultipart.bind(store);
  store.abortMultipart = async (key, uploadId) => {
    await abort(key, uploadId).catch((error: unknown) => {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 405) throw error;
    });
  };
  return store;
}
