// The table contract against the embedded SQLite adapter, on a fresh file in a temp directory.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteTable } from '../../core/storage/sqlite/sqlite-table.ts';
import { tableContract } from './table-contract.ts';

tableContract('SqliteTable', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cirrus-sqlite-contract-'));
  const table = new SqliteTable(join(dir, 'index.db'));
  return {
    table,
    async cleanup() {
      await table.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
