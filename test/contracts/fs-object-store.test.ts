// The object-store contract against the embedded filesystem adapter, in a temp directory, with
// 1 KiB parts to keep multipart tests fast. Its signed URLs are paths: a small HTTP server here
// serves them as the local host does (bin/serve-signed-object.ts).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveSignedObject } from '../../bin/serve-signed-object.ts';
import { FsObjectStore } from '../../core/storage/fs/fs-object-store.ts';
import { objectStoreContract } from './object-store-contract.ts';

objectStoreContract('FsObjectStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'cirrus-fs-contract-'));
  const secret = randomBytes(32);
  const store = new FsObjectStore({ root, publicUrl: '', signingSecret: secret, minPartSize: 1024 });
  const server = createServer((req, res) => {
    serveSignedObject(req, res, store, secret).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    store,
    fetchSigned: (url, init) => fetch(new URL(url, base), init),
    async cleanup() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Beyond the contract: no temp file or multipart upload may outlive the suite either.
      const stray = [
        ...(await readdir(join(root, 'tmp')).catch(() => [])),
        ...(await readdir(join(root, 'multipart')).catch(() => [])).map((id) => `multipart/${id}`),
      ];
      await rm(root, { recursive: true, force: true });
      if (stray.length > 0) throw new Error(`the store left files behind: ${stray.join(', ')}`);
    },
  };
});
