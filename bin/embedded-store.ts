/** The embedded default store: SQLite index + files, both under the data directory. */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FsObjectStore } from '../core/storage/fs/fs-object-store.ts';
import { SqliteTable } from '../core/storage/sqlite/sqlite-table.ts';

export interface EmbeddedStore {
  table: SqliteTable;
  objects: FsObjectStore;
  signingSecret: Uint8Array;
}

export async function openEmbeddedStore(dataDir: string): Promise<EmbeddedStore> {
  await mkdir(dataDir, { recursive: true });
  const signingSecret = await loadOrCreateSecret(join(dataDir, 'url-signing.key'));
  return {
    table: new SqliteTable(join(dataDir, 'index.db')),
    // Signed URLs are paths: clients resolve them against the host they asked, whatever its name.
    objects: new FsObjectStore({ root: join(dataDir, 'store'), publicUrl: '', signingSecret }),
    signingSecret,
  };
}

/** The key that signs blob URLs survives restarts, so redirects handed out stay valid. */
async function loadOrCreateSecret(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch {
    const secret = randomBytes(32);
    await writeFile(path, secret, { mode: 0o600, flag: 'wx' }).catch(() => {});
    return readFile(path);
  }
}
