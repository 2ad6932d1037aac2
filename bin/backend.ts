/**
 * The store behind the local host, chosen by CIRRUS_BACKEND:
 * - `embedded` (default): SQLite + files under the data directory;
 * - `aws-local`: the AWS adapters over dynalite and s3rver, started here as child processes with
 *   their data under the data directory (so it survives restarts too);
 * - `aws`: the AWS adapters over real DynamoDB and S3 (CIRRUS_TABLE, CIRRUS_BUCKET; endpoints,
 *   region and credentials from the SDK's standard variables such as AWS_ENDPOINT_URL_S3).
 * The AWS adapters live in aws-backend.ts, imported only when chosen: the SDK alone would add
 * tens of MB and a few hundred ms to every embedded start.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ObjectStore, Table } from '../core/ports/index.ts';
import type { Regions } from '../core/replication/region.ts';
import { openEmbeddedStore } from './embedded-store.ts';
import { serveSignedObject } from './serve-signed-object.ts';

export interface Backend {
  table: Table;
  objects: ObjectStore;
  /** Serves the store's signed URLs when they point back at this host (embedded store only). */
  serveSigned?: (req: IncomingMessage, res: ServerResponse) => Promise<number>;
  /** Other Cirrus regions, for `cirrus-region://` replication rules (the AWS backend only). */
  regions?: Regions;
  close(): Promise<void>;
}

export interface BackendConfig {
  backend: 'embedded' | 'aws-local' | 'aws';
  dataDir: string;
  table?: string;
  bucket?: string;
}

export async function openBackend(config: BackendConfig): Promise<Backend> {
  switch (config.backend) {
    case 'embedded': {
      const store = await openEmbeddedStore(config.dataDir);
      return {
        table: store.table,
        objects: store.objects,
        serveSigned: (req, res) => serveSignedObject(req, res, store.objects, store.signingSecret),
        close: () => store.table.close(),
      };
    }
    case 'aws-local':
      return (await import('./aws-backend.ts')).openAwsLocal(config.dataDir, config.table ?? 'cirrus', config.bucket ?? 'cirrus');
    case 'aws':
      if (!config.table || !config.bucket) throw new Error('CIRRUS_BACKEND=aws needs CIRRUS_TABLE and CIRRUS_BUCKET');
      return (await import('./aws-backend.ts')).openAws(config.table, config.bucket);
  }
}
